//! Response bodies of the agents group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    agents::{AgentConfig, AgentView, versions::VersionView},
    skills::EffectiveTool,
};

/// An agent: its configuration plus where it lives and its version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentOut {
    /// The configuration.
    #[serde(flatten)]
    pub config: AgentConfig,
    /// Owning workspace; `null` for global agents.
    pub workspace_id: Option<String>,
    /// Current version.
    pub version: i64,
    /// Defined in `astra.yml`: readable and usable everywhere, never modifiable.
    pub global: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<AgentView> for AgentOut {
    fn from(v: AgentView) -> Self {
        Self {
            config: v.config,
            workspace_id: v.workspace_id,
            version: v.version,
            global: v.global,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// One version of an agent; `config` only in detail views.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionOut {
    /// Agent id.
    pub agent_id: String,
    /// 1, 2, …
    pub version: i64,
    /// Free-form label.
    pub label: Option<String>,
    /// Who saved it (`null` for global agents).
    pub created_by: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The configuration of that version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<AgentConfig>,
}

impl VersionOut {
    /// The view, with or without its config.
    pub fn new(v: VersionView, with_config: bool) -> Self {
        Self {
            agent_id: v.agent_id,
            version: v.version,
            label: v.label,
            created_by: v.created_by,
            created_at: v.created_at,
            config: with_config.then_some(v.config),
        }
    }
}

/// A version label; `null` or empty clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelIn {
    /// Up to 100 characters.
    pub label: Option<String>,
}

/// A tool an agent may call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CapabilityOut {
    /// Tool name.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// JSON schema of its arguments.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// The skill that brought it; `null` when the allow list named it.
    pub skill: Option<String>,
}

impl From<EffectiveTool> for CapabilityOut {
    fn from(t: EffectiveTool) -> Self {
        Self {
            name: t.name,
            description: t.description,
            parameters: t.parameters,
            skill: t.skill,
        }
    }
}

/// An agent's effective capabilities.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapabilitiesOut {
    /// The agent.
    pub agent_id: String,
    /// Its skills.
    pub skills: Vec<String>,
    /// Tools it names in addition to its skills'.
    pub allow: Vec<String>,
    /// Tools it never gets.
    pub deny: Vec<String>,
    /// The tools offered to the model: allow list ∪ skill tools, minus deny, minus tools
    /// that are not available on this gateway (e.g. web search without a backend).
    pub tools: Vec<CapabilityOut>,
}
