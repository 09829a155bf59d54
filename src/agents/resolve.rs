//! Which agent a chat turn (or a handoff, or an `agent_run` job) in a workspace runs.
//!
//! Order: the workspace's own agent → a global agent (`astra.yml`) → an agent of another
//! workspace through an ACTIVE (accepted by this workspace), unexpired grant. A grant never
//! shadows an own or a global agent, so another workspace cannot replace, say, the global
//! `chad` by granting one of its own; pending and declined grants answer exactly like no
//! grant.

use chrono::{DateTime, Utc};

use super::{AgentConfig, GlobalAgents, stored::decode};
use crate::{
    error::{ApiError, ApiResult},
    store::Store,
};

/// Where a resolved agent comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSource {
    /// The workspace's own agent.
    Own,
    /// Another workspace's agent, used through an active, unexpired grant.
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
/// Order: own agent, then a global agent, then an active, unexpired grant. An id known in
/// another workspace but not (actively) granted is 403 (the caller asked for something they
/// may not use); an id known nowhere is 404.
pub async fn resolve_agent(
    store: &Store,
    globals: &GlobalAgents,
    workspace_id: &str,
    agent_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<ResolvedAgent> {
    if let Some(row) = store.agents().agent_cached(workspace_id, agent_id).await? {
        return Ok(ResolvedAgent {
            config: decode(row.config)?,
            source: AgentSource::Own,
        });
    }
    // Before grants: a global agent cannot be shadowed by another workspace.
    if let Some(config) = globals.get(agent_id) {
        return Ok(ResolvedAgent {
            config: config.clone(),
            source: AgentSource::Global,
        });
    }
    if let Some(grant) = store
        .grants()
        .grant_for(workspace_id, agent_id, now)
        .await?
        && let Some(row) = store
            .agents()
            .agent_cached(&grant.workspace_id, agent_id)
            .await?
    {
        return Ok(ResolvedAgent {
            config: decode(row.config)?,
            source: AgentSource::Granted {
                from_workspace: grant.workspace_id,
                readonly: grant.readonly,
            },
        });
    }
    if store
        .agents()
        .agent_exists_elsewhere(agent_id, workspace_id)
        .await?
    {
        return Err(ApiError::Forbidden(format!(
            "Agent {agent_id:?} belongs to another workspace and is not granted to this one"
        )));
    }
    Err(ApiError::not_found("Agent"))
}
