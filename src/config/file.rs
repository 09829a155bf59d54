//! The optional `astra.yml` file: settings, agents, skills, quotas, limits, inference, pricing,
//! openai, memory, mcp.
//!
//! Sections owned by later modules are kept as JSON values and parsed by their owners, so this
//! loader stays small; `${ENV}` references are expanded before parsing.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;

/// The parsed `astra.yml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct FileConfig {
    /// `settings:` (defaultProvider, defaultModel, fallbackProvider, …).
    pub settings: Value,
    /// `agents:` global agents seeded at start-up.
    pub agents: Vec<Value>,
    /// `skills:` extra skills.
    pub skills: Vec<Value>,
    /// `quotas:` per-agent quotas.
    pub quotas: Value,
    /// `limits:` rate and budget limits.
    pub limits: Value,
    /// `inference:` provider settings and resilience knobs.
    pub inference: Value,
    /// `pricing:` price overrides.
    pub pricing: Value,
    /// `openai:` the OpenAI-compatible surface (`passthroughModels`).
    pub openai: Value,
    /// `memory:` embeddings and hybrid retrieval.
    pub memory: Value,
    /// `mcp:` the operator's MCP servers (`servers: [...]`, parsed by the MCP module).
    pub mcp: Value,
}

impl FileConfig {
    /// Reads and parses the file, expanding `${VAR}` from `env`.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let raw = std::fs::read_to_string(path)
            .with_context(|| format!("ASTRA_CONFIG: cannot read {}", path.display()))?;
        Self::parse(&raw, env).with_context(|| format!("ASTRA_CONFIG: {}", path.display()))
    }

    /// Parses YAML text, expanding `${VAR}` from `env`.
    pub fn parse(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let text = interpolate(raw, env)?;
        let value: Value = config::Config::builder()
            .add_source(config::File::from_str(&text, config::FileFormat::Yaml))
            .build()
            .context("invalid YAML")?
            .try_deserialize()
            .context("invalid YAML")?;
        let value = if value.is_null() {
            Value::Object(Default::default())
        } else {
            value
        };
        serde_json::from_value(value).context("unexpected structure")
    }

    /// A string setting from `settings:`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }
}

/// Replaces `${NAME}` with the value of the environment variable `NAME`.
fn interpolate(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            bail!("unterminated ${{ in configuration");
        };
        let name = &rest[start + 2..start + end];
        out.push_str(&env(name).unwrap_or_default());
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A section of `astra.yml` parsed into its owner's type; an absent section is the default.
pub(super) fn section<T: serde::de::DeserializeOwned + Default>(
    section: &Value,
    name: &str,
) -> anyhow::Result<T> {
    if section.is_null() {
        return Ok(T::default());
    }
    serde_json::from_value(section.clone()).map_err(|e| anyhow::anyhow!("astra.yml {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_env_and_parses_sections() {
        let env = |k: &str| (k == "KEY").then(|| "sk-1".to_string());
        let cfg = FileConfig::parse(
            "settings:\n  defaultProvider: openai\ninference:\n  providers:\n    openai:\n      apiKey: ${KEY}\n",
            &env,
        )
        .expect("parse");
        assert_eq!(cfg.setting("defaultProvider"), Some("openai"));
        assert_eq!(cfg.inference["providers"]["openai"]["apiKey"], "sk-1");
    }
}
