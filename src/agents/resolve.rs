//! Which agent a chat turn in a workspace runs: the workspace's own, else one granted to it,
//! else a global one.

use chrono::{DateTime, Utc};

use super::{AgentConfig, GlobalAgents};
use crate::{
    error::{ApiError, ApiResult},
    store::Store,
};

/// Where a resolved agent comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSource {
    /// The workspace's own agent.
    Own,
    /// Another workspace's agent, used through an unexpired grant.
    Granted {
        /// The workspace that owns the agent (its memory profile and usage live there).
        from_workspace: String,
        /// The grant allows running, not changing.
        readonly: bool,
    },
    /// A global agent from `astra.yml`.
    Global,
}

/// An agent ready to run.
#[derive(Debug, Clone)]
pub struct ResolvedAgent {
    /// Its configuration.
    pub config: AgentConfig,
    /// Where it comes from.
    pub source: AgentSource,
}

/// Resolves `agent_id` for a turn in `workspace_id` at `now` (grant expiry is checked
/// against it).
///
/// Order: own agent, then an unexpired grant, then a global agent. An id known in another
/// workspace but not granted is 403 (the caller asked for something they may not use);
/// an id known nowhere is 404.
pub async fn resolve_agent(
    store: &Store,
    globals: &GlobalAgents,
    workspace_id: &str,
    agent_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<ResolvedAgent> {
    if let Some(row) = store.agent_cached(workspace_id, agent_id).await? {
        return Ok(ResolvedAgent {
            config: row.config.0,
            source: AgentSource::Own,
        });
    }
    if let Some(grant) = store.grant_for(workspace_id, agent_id, now).await?
        && let Some(row) = store.agent_cached(&grant.workspace_id, agent_id).await?
    {
        return Ok(ResolvedAgent {
            config: row.config.0,
            source: AgentSource::Granted {
                from_workspace: grant.workspace_id,
                readonly: grant.readonly,
            },
        });
    }
    if let Some(config) = globals.get(agent_id) {
        return Ok(ResolvedAgent {
            config: config.clone(),
            source: AgentSource::Global,
        });
    }
    if store.agent_exists_elsewhere(agent_id, workspace_id).await? {
        return Err(ApiError::Forbidden(format!(
            "Agent {agent_id:?} belongs to another workspace and is not granted to this one"
        )));
    }
    Err(ApiError::not_found("Agent"))
}
