//! The validated agent configuration and its parts. Values of these types have passed
//! [`super::AgentConfigIn::validate`]; they are what is stored, served and run.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::providers::PROVIDER_IDS;

/// Default `model.maxOutputTokens`.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u32 = 4096;
/// Default `model.temperature`.
pub const DEFAULT_TEMPERATURE: f64 = 0.7;
/// Default `maxToolRounds`.
pub const DEFAULT_MAX_TOOL_ROUNDS: u32 = 5;
/// Largest `maxToolRounds`: each round is a provider call, so this bounds a turn's cost.
pub const MAX_TOOL_ROUNDS: u32 = 20;
/// Default `session.idleTimeoutMinutes`.
pub const DEFAULT_IDLE_TIMEOUT_MINUTES: u32 = 30;
/// Default `session.dailyResetHour` (UTC).
pub const DEFAULT_DAILY_RESET_HOUR: u8 = 4;

/// An agent id: 1–64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit
/// (kebab or snake case). Unique per workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentId(String);

impl AgentId {
    /// Parses an id, explaining what is wrong on failure.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(
                "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
                    .into(),
            )
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AgentId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<AgentId> for String {
    fn from(id: AgentId) -> Self {
        id.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A provider id from [`PROVIDER_IDS`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String)]
pub struct ProviderId(String);

impl ProviderId {
    /// Parses a provider id.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if PROVIDER_IDS.contains(&raw) {
            Ok(Self(raw.to_string()))
        } else {
            Err(format!(
                "unknown provider {raw:?}; known: {}",
                PROVIDER_IDS.join(", ")
            ))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProviderId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<ProviderId> for String {
    fn from(id: ProviderId) -> Self {
        id.0
    }
}

/// Pricing and routing class of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Cheapest models.
    Free,
    /// The default.
    Standard,
    /// Most capable models.
    Premium,
}

impl Tier {
    /// Parses `free|standard|premium`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "free" => Some(Tier::Free),
            "standard" => Some(Tier::Standard),
            "premium" => Some(Tier::Premium),
            _ => None,
        }
    }
}

/// The second provider tried when the first fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FallbackModel {
    /// Provider id.
    pub provider: ProviderId,
    /// Model name at that provider.
    pub model_id: String,
}

/// Which model an agent runs on and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelConfig {
    /// Provider id.
    pub provider: ProviderId,
    /// Model name at that provider.
    pub model_id: String,
    /// Context window to budget for; `None` = the provider's default.
    pub max_context_tokens: Option<u32>,
    /// Completion limit per call.
    pub max_output_tokens: u32,
    /// Sampling temperature, 0–2.
    pub temperature: f64,
    /// Base URL override (self-hosted vLLM/Ollama, proxies). The operator's key is sent
    /// there only when `inference.allowedEndpoints` allows it; otherwise the agent names a
    /// workspace credential (or the provider needs no key).
    pub endpoint: Option<String>,
    /// Optional fallback model.
    pub fallback: Option<FallbackModel>,
    /// A provider credential of the agent's workspace (`pcr_…`) whose key the calls carry
    /// instead of the operator's. Serialised only when set, so existing shapes stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

impl crate::credentials::AgentModel for ModelConfig {
    fn provider(&self) -> &str {
        self.provider.as_str()
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }
    fn credential_id(&self) -> Option<&str> {
        self.credential_id.as_deref()
    }
}

/// Tool names added to or removed from the agent's skills; deny wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ToolPolicy {
    /// Tools offered in addition to those of the skills.
    pub allow: Vec<String>,
    /// Tools never offered, even when a skill brings them.
    pub deny: Vec<String>,
}

/// When a conversation session ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionPolicy {
    /// Minutes of inactivity after which the next message starts a new session (0 = never).
    pub idle_timeout_minutes: u32,
    /// Hour of the day (UTC, 0–23) at which sessions are reset.
    pub daily_reset_hour: u8,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: DEFAULT_IDLE_TIMEOUT_MINUTES,
            daily_reset_hour: DEFAULT_DAILY_RESET_HOUR,
        }
    }
}

/// A complete, validated agent configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentConfig {
    /// Kebab/snake id, unique per workspace.
    #[schema(value_type = String)]
    pub id: AgentId,
    /// Name shown to users.
    pub display_name: String,
    /// `free|standard|premium`.
    pub tier: Tier,
    /// Model settings.
    pub model: ModelConfig,
    /// System prompt with `{{placeholders}}`.
    pub system_prompt_template: String,
    /// Skill ids, in order.
    pub skills: Vec<String>,
    /// Extra and denied tools.
    pub tools: ToolPolicy,
    /// Session lifetime.
    pub session: SessionPolicy,
    /// Most model↔tool round trips in one turn.
    pub max_tool_rounds: u32,
    /// Assigned memory profile (`mp_…`) in the agent's workspace.
    pub memory_profile_id: Option<String>,
}
