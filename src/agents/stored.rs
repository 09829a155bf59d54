//! An [`AgentConfig`] to and from the store's plain rows. The store keeps the config as a
//! JSON document and mirrors two of its fields in columns ([`AgentDoc`]); the conversion,
//! and what a stored document that no longer decodes means (an internal error), live here.

use serde_json::Value;
use sqlx::types::Json;

use super::AgentConfig;
use crate::{
    error::{ApiError, ApiResult},
    store::AgentDoc,
};

impl AgentConfig {
    /// The document the store writes, with its mirrored columns.
    pub fn to_doc(&self) -> Result<AgentDoc, serde_json::Error> {
        Ok(AgentDoc {
            id: self.id.as_str().to_string(),
            memory_profile_id: self.memory_profile_id.clone(),
            config: serde_json::to_value(self)?,
        })
    }

    /// Decodes a stored document.
    pub fn from_doc(config: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(config)
    }
}

/// [`AgentConfig::to_doc`] for domain code: a config that cannot be written is a bug.
pub(crate) fn encode(config: &AgentConfig) -> ApiResult<AgentDoc> {
    config.to_doc().map_err(|e| internal(e, "encoding"))
}

/// [`AgentConfig::from_doc`] for domain code: a stored config that does not decode is a bug
/// (or a hand-edited row), never the caller's fault.
pub(crate) fn decode(Json(config): Json<Value>) -> ApiResult<AgentConfig> {
    AgentConfig::from_doc(config).map_err(|e| internal(e, "decoding"))
}

fn internal(err: serde_json::Error, what: &str) -> ApiError {
    ApiError::Internal(anyhow::Error::new(err).context(format!("{what} a stored agent config")))
}
