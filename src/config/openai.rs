//! The `openai:` section of `astra.yml`: settings of the OpenAI-compatible surface (`/v1`),
//! defined here so `config` needs no feature module (`chat::openai` re-exports it).

use serde::Deserialize;
use serde_json::Value;

use super::parse_bool;

/// The `openai:` section of `astra.yml`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenAiConfig {
    /// Offer the configured providers' models as `<provider>/<model>` on `/v1` (plain
    /// completions without an agent). `ASTRA_OPENAI_PASSTHROUGH_MODELS` overrides it.
    pub passthrough_models: bool,
}

impl OpenAiConfig {
    /// The section merged with the environment (which wins).
    pub fn from_sources(
        section: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut cfg: Self = super::file::section(section, "openai")?;
        if let Some(v) = env("ASTRA_OPENAI_PASSTHROUGH_MODELS") {
            cfg.passthrough_models = parse_bool(&v).ok_or_else(|| {
                anyhow::anyhow!("ASTRA_OPENAI_PASSTHROUGH_MODELS: expected true or false")
            })?;
        }
        Ok(cfg)
    }
}
