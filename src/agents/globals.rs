//! Global agents: the `agents:` list of `astra.yml`, validated at start-up, readable and
//! usable by every workspace and modifiable by none.
//!
//! They live in memory rather than in the database: every replica reads the same file, and
//! an edit of the file takes effect on restart without a migration of stored rows.

use std::collections::BTreeMap;

use anyhow::bail;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{AgentConfig, AgentConfigIn};
use crate::error::ApiError;

/// The global agents, by id.
#[derive(Debug, Clone, Default)]
pub struct GlobalAgents {
    by_id: BTreeMap<String, AgentConfig>,
    loaded_at: DateTime<Utc>,
}

impl GlobalAgents {
    /// Validates the `agents:` entries; the error names the entry, its id and the field.
    pub fn load(entries: &[Value], now: DateTime<Utc>) -> anyhow::Result<Self> {
        let mut by_id = BTreeMap::new();
        for (index, entry) in entries.iter().enumerate() {
            let name = entry
                .get("id")
                .and_then(Value::as_str)
                .map(|id| format!("agents[{index}] ({id})"))
                .unwrap_or_else(|| format!("agents[{index}]"));
            let input: AgentConfigIn = serde_path_to_error::deserialize(entry.clone())
                .map_err(|e| anyhow::anyhow!("astra.yml {name}: {}: {}", e.path(), e.inner()))?;
            let config = input.validate(None).map_err(|e| match e {
                ApiError::Validation { message, .. } => {
                    anyhow::anyhow!("astra.yml {name}: {message}")
                }
                other => anyhow::anyhow!("astra.yml {name}: {other}"),
            })?;
            if config.memory_profile_id.is_some() {
                bail!(
                    "astra.yml {name}: memoryProfileId: global agents cannot use a workspace's memory profile"
                );
            }
            let id = config.id.as_str().to_string();
            if by_id.insert(id.clone(), config).is_some() {
                bail!("astra.yml {name}: id: {id:?} is defined twice");
            }
        }
        Ok(Self {
            by_id,
            loaded_at: now,
        })
    }

    /// The global agent with this id.
    pub fn get(&self, id: &str) -> Option<&AgentConfig> {
        self.by_id.get(id)
    }

    /// Every global agent, by id.
    pub fn all(&self) -> impl Iterator<Item = &AgentConfig> {
        self.by_id.values()
    }

    /// When they were loaded (their `createdAt`/`updatedAt`).
    pub fn loaded_at(&self) -> DateTime<Utc> {
        self.loaded_at
    }

    /// Number of global agents.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when `astra.yml` defines none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bad_agent_names_itself_and_the_field() {
        let entries = [
            json!({"id": "ok", "displayName": "Ok", "model": {"provider": "openai", "modelId": "m"}}),
            json!({"id": "hot", "displayName": "Hot", "model": {"provider": "openai", "modelId": "m", "temperature": 3}}),
        ];
        let err = GlobalAgents::load(&entries, Utc::now())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agents[1] (hot)") && err.contains("model.temperature"),
            "{err}"
        );
        let err = GlobalAgents::load(&[json!({"id": "x", "modle": {}})], Utc::now())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("agents[0] (x)") && err.contains("modle"),
            "{err}"
        );
        let globals = GlobalAgents::load(&entries[..1], Utc::now()).unwrap();
        assert_eq!(
            globals.get("ok").map(|a| a.display_name.as_str()),
            Some("Ok")
        );
    }
}
