//! Handing an active session off to another agent: the next message to that agent on the
//! same surface continues the conversation. The move, a system note in the session and the
//! audit record are written in one transaction, and only if the session did not change since
//! it was read.

use chrono::Utc;
use serde_json::json;

use super::{Scope, load};
use crate::{
    agents::{GlobalAgents, resolve_agent},
    error::{ApiError, ApiResult},
    store::{Handoff, MessageRow, SessionRow, Store, ids::new_id},
    workspaces::Role,
};

/// Hands session `id` of the scope to `to_agent` (resolved like a chat turn's agent) and
/// returns the session as it is now. 404 outside the scope, 403 for viewers, 409 when the
/// session is archived or changed meanwhile, 400 when `to_agent` is already its agent.
pub async fn handoff(
    store: &Store,
    globals: &GlobalAgents,
    scope: Scope<'_>,
    id: &str,
    to_agent: &str,
    reason: Option<&str>,
) -> ApiResult<SessionRow> {
    let session = load(store, scope, id).await?;
    check_allowed(store, &session, scope.user_id, to_agent).await?;
    let now = Utc::now();
    resolve_agent(store, globals, &session.workspace_id, to_agent, now).await?;
    let note = MessageRow {
        id: new_id("msg"),
        session_id: session.id.clone(),
        role: "system".into(),
        content: note_text(&session.agent_id, to_agent, reason),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: now,
    };
    let done = store
        .sessions()
        .handoff_session(&Handoff {
            session: &session,
            to_agent,
            note: &note,
            details: json!({ "from": session.agent_id, "to": to_agent, "reason": reason }),
            now,
        })
        .await?;
    if !done {
        return Err(ApiError::Conflict(
            "The session changed meanwhile; reload it and retry".into(),
        ));
    }
    load(store, scope, id).await
}

/// The caller may run agents in the session's workspace, the session is active, and the
/// target is another agent.
async fn check_allowed(
    store: &Store,
    session: &SessionRow,
    user_id: &str,
    to_agent: &str,
) -> ApiResult<()> {
    let role = store
        .workspaces()
        .member_role(&session.workspace_id, user_id)
        .await?
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| ApiError::not_found("Session"))?;
    if !role.can_run_agents() {
        return Err(ApiError::Forbidden("Viewers cannot run agents".into()));
    }
    if session.status != "active" {
        return Err(ApiError::Conflict(
            "Archived sessions cannot be handed off".into(),
        ));
    }
    if session.agent_id == to_agent {
        return Err(ApiError::field("agentId", "is already the session's agent"));
    }
    Ok(())
}

/// The system note recorded in the session.
fn note_text(from: &str, to: &str, reason: Option<&str>) -> String {
    let mut text = format!("Conversation handed off from agent {from} to agent {to}.");
    if let Some(reason) = reason {
        text.push_str(" Reason: ");
        text.push_str(reason);
    }
    text
}
