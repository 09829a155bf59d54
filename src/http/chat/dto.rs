//! Response bodies of the agent chat group (and the reply shared with `/autonomous/*`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::chat::{
    events::{TurnReply, TurnUsage},
    presence::{PresenceEntry, PresenceState},
};

/// Token usage of a turn.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnUsageOut {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Sum of both.
    pub total_tokens: u64,
}

impl From<TurnUsage> for TurnUsageOut {
    fn from(u: TurnUsage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// The reply of a turn (`/agent/chat` 200).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatReplyOut {
    /// Assistant text.
    pub content: String,
    /// Session used.
    pub session_id: String,
    /// Distinct tools called, in first-call order.
    pub tools_used: Vec<String>,
    /// Token usage.
    pub usage: TurnUsageOut,
}

impl From<TurnReply> for ChatReplyOut {
    fn from(r: TurnReply) -> Self {
        Self {
            content: r.content,
            session_id: r.session_id,
            tools_used: r.tools_used,
            usage: r.usage.into(),
        }
    }
}

/// A turn accepted for delivery to `webhookUrl` (`/agent/chat` 202).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatAcceptedOut {
    /// Session the turn runs in.
    pub session_id: String,
    /// Always `accepted`.
    pub status: &'static str,
    /// `whd_…`: the reply's delivery, sent as `webhook-id` on every attempt and listed by
    /// `GET /users/me/reply-deliveries` once the turn is recorded.
    pub delivery_id: String,
}

/// The result of `/agent/reset`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentResetOut {
    /// Always true.
    pub reset: bool,
    /// Sessions archived (0 or 1).
    pub archived: u64,
    /// The agent.
    pub agent_id: String,
    /// The surface.
    pub surface: &'static str,
    /// The surface id.
    pub surface_id: String,
}

/// What an agent is doing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PresenceStateOut {
    /// Waiting for the model.
    Thinking,
    /// Running tools.
    Tool,
    /// Streaming text.
    Streaming,
    /// Between turns.
    Idle,
}

impl From<PresenceState> for PresenceStateOut {
    fn from(s: PresenceState) -> Self {
        match s {
            PresenceState::Thinking => Self::Thinking,
            PresenceState::Tool => Self::Tool,
            PresenceState::Streaming => Self::Streaming,
            PresenceState::Idle => Self::Idle,
        }
    }
}

/// One agent's presence.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntryOut {
    /// Agent.
    pub agent_id: String,
    /// Session.
    pub session_id: String,
    /// Surface.
    pub surface: String,
    /// Surface id.
    pub surface_id: String,
    /// State.
    pub state: PresenceStateOut,
    /// Since when.
    pub since: chrono::DateTime<chrono::Utc>,
}

impl From<PresenceEntry> for PresenceEntryOut {
    fn from(e: PresenceEntry) -> Self {
        Self {
            agent_id: e.agent_id,
            session_id: e.session_id,
            surface: e.surface,
            surface_id: e.surface_id,
            state: e.state.into(),
            since: e.since,
        }
    }
}

/// The caller's agent states, busiest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceOut {
    /// One entry per agent + surface in use.
    pub agents: Vec<PresenceEntryOut>,
}

/// Liveness of the agent routes.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentHealthOut {
    /// Always `ok`.
    pub status: &'static str,
}
