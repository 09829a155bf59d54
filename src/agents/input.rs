//! The agent configuration as clients (and `astra.yml`) write it, and its validation into an
//! [`AgentConfig`]. Every problem is collected, so one 400 names every bad field.

use serde::{Deserialize, de::IgnoredAny};
use utoipa::ToSchema;

use super::config::*;
use super::template::check_template;
use crate::{error::ApiResult, validate::Problems};

/// Longest system-prompt template, in characters.
const MAX_TEMPLATE_CHARS: usize = 50_000;
/// Most skills, allowed tools or denied tools per agent.
const MAX_LIST: usize = 100;

/// An agent configuration as submitted; defaults fill what is absent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentConfigIn {
    /// Required on create; on update it must match the path when present.
    pub id: Option<String>,
    /// 1–100 characters.
    pub display_name: Option<String>,
    /// `free|standard|premium` (default `standard`).
    pub tier: Option<String>,
    /// Required.
    pub model: Option<ModelIn>,
    /// Up to 50 000 characters (default empty).
    pub system_prompt_template: Option<String>,
    /// Skill ids.
    pub skills: Option<Vec<String>>,
    /// `{allow, deny}` tool names.
    pub tools: Option<ToolsIn>,
    /// `{idleTimeoutMinutes (0-43200, 0 = never, default 30), dailyResetHour (0-23, default 4)}`.
    pub session: Option<SessionIn>,
    /// 1–20 (default 5).
    pub max_tool_rounds: Option<i64>,
    /// A memory profile of the workspace, or null.
    pub memory_profile_id: Option<String>,
    // Read-only fields of agent responses, accepted and ignored so a fetched agent can be
    // edited and sent back as is.
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    workspace_id: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    global: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<IgnoredAny>,
    #[schema(ignore)]
    #[serde(default)]
    #[allow(dead_code)]
    updated_at: Option<IgnoredAny>,
}

/// `model` as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelIn {
    /// One of the known providers.
    pub provider: Option<String>,
    /// 1–200 characters.
    pub model_id: Option<String>,
    /// 1–10 000 000.
    pub max_context_tokens: Option<i64>,
    /// 1–1 000 000 (default 4096).
    pub max_output_tokens: Option<i64>,
    /// 0–2 (default 0.7).
    pub temperature: Option<f64>,
    /// An http(s) URL.
    pub endpoint: Option<String>,
    /// `{provider, modelId}`.
    pub fallback: Option<FallbackIn>,
    /// A provider credential of the workspace (`pcr_…`), or null.
    pub credential_id: Option<String>,
}

/// `model.fallback` as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FallbackIn {
    /// One of the known providers.
    pub provider: Option<String>,
    /// 1–200 characters.
    pub model_id: Option<String>,
}

/// `tools` as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolsIn {
    /// Tool names added.
    pub allow: Option<Vec<String>>,
    /// Tool names removed (wins over allow and skills).
    pub deny: Option<Vec<String>>,
}

/// `session` as submitted.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionIn {
    /// 0–43 200 minutes; 0 = no idle reset (default 30).
    pub idle_timeout_minutes: Option<i64>,
    /// 0–23 (default 4).
    pub daily_reset_hour: Option<i64>,
}

impl AgentConfigIn {
    /// Validates every field, applying defaults. `path_id` is the id from the URL on update.
    pub fn validate(self, path_id: Option<&str>) -> ApiResult<AgentConfig> {
        let mut p = Problems::new();
        let raw_id = match (path_id, self.id.as_deref()) {
            (Some(path), Some(body)) if path != body => {
                p.add("id", "must match the id in the path");
                path
            }
            (Some(path), _) => path,
            (None, Some(body)) => body,
            (None, None) => {
                p.add("id", "is required");
                ""
            }
        };
        let id = AgentId::parse(raw_id).map_err(|e| p.add("id", e)).ok();
        let display_name = self.display_name.as_deref().map(str::trim).unwrap_or("");
        p.check(
            !crate::validate::length_between(display_name, 1, 100),
            "displayName",
            "must be 1-100 characters",
        );
        let tier = match self.tier.as_deref() {
            None => Some(Tier::Standard),
            Some(t) => Tier::parse(t).or_else(|| {
                p.add("tier", "must be one of free, standard, premium");
                None
            }),
        };
        let model = match self.model {
            Some(m) => m.validate(&mut p),
            None => {
                p.add("model", "is required");
                None
            }
        };
        let template = self.system_prompt_template.unwrap_or_default();
        if template.chars().count() > MAX_TEMPLATE_CHARS {
            p.add("systemPromptTemplate", "must be at most 50000 characters");
        } else if let Err(e) = check_template(&template) {
            p.add("systemPromptTemplate", e.to_string());
        }
        let skills = self.skills.unwrap_or_default();
        check_names(&mut p, "skills", &skills);
        let tools_in = self.tools.unwrap_or_default();
        let tools = ToolPolicy {
            allow: tools_in.allow.unwrap_or_default(),
            deny: tools_in.deny.unwrap_or_default(),
        };
        check_names(&mut p, "tools.allow", &tools.allow);
        check_names(&mut p, "tools.deny", &tools.deny);
        let session_in = self.session.unwrap_or_default();
        let idle = bounded(
            &mut p,
            "session.idleTimeoutMinutes",
            session_in.idle_timeout_minutes,
            DEFAULT_IDLE_TIMEOUT_MINUTES.into(),
            0,
            43_200,
        );
        let hour = bounded(
            &mut p,
            "session.dailyResetHour",
            session_in.daily_reset_hour,
            DEFAULT_DAILY_RESET_HOUR.into(),
            0,
            23,
        );
        let rounds = bounded(
            &mut p,
            "maxToolRounds",
            self.max_tool_rounds,
            DEFAULT_MAX_TOOL_ROUNDS.into(),
            1,
            MAX_TOOL_ROUNDS.into(),
        );
        let memory_profile_id = self.memory_profile_id.filter(|s| !s.is_empty());
        p.check(
            memory_profile_id
                .as_deref()
                .is_some_and(|m| !crate::store::ids::has_prefix(m, "mp") || m.len() > 64),
            "memoryProfileId",
            "must be a memory profile id (mp_…)",
        );
        p.finish()?;
        match (id, tier, model) {
            (Some(id), Some(tier), Some(model)) => Ok(AgentConfig {
                id,
                display_name: display_name.to_string(),
                tier,
                model,
                system_prompt_template: template,
                skills,
                tools,
                session: SessionPolicy {
                    idle_timeout_minutes: idle as u32,
                    daily_reset_hour: hour as u8,
                },
                max_tool_rounds: rounds as u32,
                memory_profile_id,
            }),
            // Unreachable in practice: each None above recorded a problem.
            _ => Err(anyhow::anyhow!("agent validation lost a problem").into()),
        }
    }
}

impl ModelIn {
    fn validate(self, p: &mut Problems) -> Option<ModelConfig> {
        let provider = parse_provider(p, "model.provider", self.provider.as_deref());
        let model_id = parse_model_id(p, "model.modelId", self.model_id.as_deref());
        let max_context_tokens = self
            .max_context_tokens
            .map(|v| bounded(p, "model.maxContextTokens", Some(v), 0, 1, 10_000_000) as u32);
        let max_output_tokens = bounded(
            p,
            "model.maxOutputTokens",
            self.max_output_tokens,
            DEFAULT_MAX_OUTPUT_TOKENS.into(),
            1,
            1_000_000,
        ) as u32;
        let temperature = self.temperature.unwrap_or(DEFAULT_TEMPERATURE);
        p.check(
            !(0.0..=2.0).contains(&temperature),
            "model.temperature",
            "must be between 0 and 2",
        );
        let endpoint = self.endpoint.filter(|e| !e.is_empty());
        if let Some(e) = &endpoint {
            let ok = e.len() <= 2048
                && reqwest::Url::parse(e)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            p.check(!ok, "model.endpoint", "must be an http(s) URL");
        }
        let fallback = self.fallback.and_then(|f| {
            let provider = parse_provider(p, "model.fallback.provider", f.provider.as_deref());
            let model_id = parse_model_id(p, "model.fallback.modelId", f.model_id.as_deref());
            Some(FallbackModel {
                provider: provider?,
                model_id: model_id?,
            })
        });
        let credential_id = self.credential_id.filter(|c| !c.is_empty());
        if let Some(c) = &credential_id {
            let ok = c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            p.check(!ok, "model.credentialId", "must be a credential id (pcr_…)");
        }
        Some(ModelConfig {
            provider: provider?,
            model_id: model_id?,
            max_context_tokens,
            max_output_tokens,
            temperature,
            endpoint,
            fallback,
            credential_id,
        })
    }
}

fn parse_provider(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<ProviderId> {
    let Some(raw) = raw else {
        p.add(field, "is required");
        return None;
    };
    ProviderId::parse(raw).map_err(|e| p.add(field, e)).ok()
}

fn parse_model_id(p: &mut Problems, field: &str, raw: Option<&str>) -> Option<String> {
    let value = raw.map(str::trim).unwrap_or("");
    if crate::validate::length_between(value, 1, 200) {
        Some(value.to_string())
    } else {
        p.add(field, "must be 1-200 characters");
        None
    }
}

/// Applies the default and checks `min..=max`; on a problem the default is returned so
/// validation can go on collecting.
fn bounded(p: &mut Problems, field: &str, v: Option<i64>, default: i64, min: i64, max: i64) -> i64 {
    let value = v.unwrap_or(default);
    if (min..=max).contains(&value) {
        value
    } else {
        p.add(field, format!("must be {min}-{max}"));
        default
    }
}

/// Skill and tool names: 1–64 characters of `a-z0-9_-` (a skill `mcp:<server>` names an MCP
/// server), no duplicates, at most 100.
fn check_names(p: &mut Problems, field: &str, names: &[String]) {
    let bad_shape = names.iter().find(|n| {
        let n = match n.strip_prefix("mcp:") {
            Some(server) if field == "skills" => server,
            _ => n.as_str(),
        };
        n.is_empty()
            || n.len() > 64
            || !n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    });
    if let Some(bad) = bad_shape {
        p.add(
            field,
            format!("{bad:?}: names are 1-64 characters of a-z, 0-9, '_' or '-'"),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        p.add(field, format!("{dup:?} is listed twice"));
    }
    p.check(
        names.len() > MAX_LIST,
        field,
        "at most 100 entries are allowed",
    );
}
