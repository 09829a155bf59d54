//! Response bodies of the sessions group.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::store::{MessageHit, MessageRow, SessionRow};

/// A session as listed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionOut {
    /// `ses_…`
    pub id: String,
    /// The agent that answers in it.
    pub agent_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// `chat|prop|group`.
    pub surface: String,
    /// Client-chosen sub-channel.
    pub surface_id: String,
    /// `active|archived`.
    pub status: String,
    /// Messages stored.
    pub message_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_active_at: DateTime<Utc>,
    /// When archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// Summary of older messages (after compaction).
    pub summary: Option<String>,
}

impl From<SessionRow> for SessionOut {
    fn from(s: SessionRow) -> Self {
        Self {
            id: s.id,
            agent_id: s.agent_id,
            workspace_id: s.workspace_id,
            surface: s.surface,
            surface_id: s.surface_id,
            status: s.status,
            message_count: s.message_count,
            created_at: s.created_at,
            last_active_at: s.last_active_at,
            archived_at: s.archived_at,
            summary: s.summary,
        }
    }
}

/// A session with its newest messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDetailOut {
    /// The session.
    #[serde(flatten)]
    pub session: SessionOut,
    /// Its newest messages, oldest first.
    pub messages: Vec<MessageOut>,
}

/// A stored message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageOut {
    /// `msg_…`
    pub id: String,
    /// `user|assistant|tool|system`.
    pub role: String,
    /// Text.
    pub content: String,
    /// Assistant tool calls (the calls as the model made them).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub tool_calls: Option<Value>,
    /// The call a tool result answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool name of a tool result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The turn was cut off.
    pub incomplete: bool,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

impl From<MessageRow> for MessageOut {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id,
            role: m.role,
            content: m.content,
            tool_calls: m.tool_calls.map(|j| j.0),
            tool_call_id: m.tool_call_id,
            name: m.name,
            incomplete: m.incomplete,
            created_at: m.created_at,
        }
    }
}

/// One message found by `GET /sessions/search/messages`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageHitOut {
    /// `msg_…`
    pub message_id: String,
    /// Session.
    pub session_id: String,
    /// The session's agent.
    pub agent_id: String,
    /// The session's workspace.
    pub workspace_id: String,
    /// `user|assistant|tool|system`.
    pub role: String,
    /// The matching passage as HTML: the message text is escaped (`&`, `<`, `>`, `"`, `'`)
    /// before matches are wrapped in `<b>…</b>`, so `<b>` and `</b>` are its only markup and it
    /// may be inserted into a page as is.
    pub snippet: String,
    /// Full text, unescaped (plain text, not HTML).
    pub content: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
    /// Relevance, higher is better.
    pub score: f64,
}

impl From<MessageHit> for MessageHitOut {
    fn from(h: MessageHit) -> Self {
        Self {
            message_id: h.message_id,
            session_id: h.session_id,
            agent_id: h.agent_id,
            workspace_id: h.workspace_id,
            role: h.role,
            snippet: h.snippet,
            content: h.content,
            created_at: h.created_at,
            score: h.score,
        }
    }
}

/// The answer of `GET /sessions/search/messages`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageSearchOut {
    /// Best match first.
    pub items: Vec<MessageHitOut>,
    /// Matches in all.
    pub total: i64,
}

/// Handoff request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandoffIn {
    /// The agent taking over (resolved like a chat turn's agent).
    pub agent_id: String,
    /// Why, up to 500 characters; kept in the note and the audit log.
    pub reason: Option<String>,
}
