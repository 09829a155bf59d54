//! Everything a turn needs, resolved by [`super::turn::plan`] before the loop starts.

use chrono::{DateTime, Utc};

use super::reply_webhook::ReplyTo;
use crate::{
    providers::{Message, Target},
    skills::EffectiveTool,
    store::SessionRow,
    tools::ToolRegistry,
};

/// A turn ready to run.
#[derive(Debug, Clone)]
pub struct TurnPlan {
    /// `X-Request-ID` of the HTTP call, for logs and the trace.
    pub request_id: Option<String>,
    /// Id of the trace this turn writes (`trc_…`), known up front so every log line of the
    /// turn can carry it.
    pub trace_id: String,
    /// Caller.
    pub user_id: String,
    /// Workspace billed.
    pub workspace_id: String,
    /// Agent id.
    pub agent_id: String,
    /// The session (the user message is already stored in it).
    pub session: SessionRow,
    /// True when the session was created for this turn.
    pub is_new_session: bool,
    /// Model to call first.
    pub primary: Target,
    /// Model to call when the primary cannot serve.
    pub fallback: Option<Target>,
    /// Rendered system prompt (template + skill instructions + memory-profile suffix).
    pub system_prompt: String,
    /// Tools offered to the model.
    pub tools: Vec<EffectiveTool>,
    /// Earlier messages sent by an API client, placed before the stored history (not stored).
    pub client_history: Vec<Message>,
    /// Most tool rounds before a final answer without tools.
    pub max_tool_rounds: u32,
    /// Completion limit per call (the agent's, or the client's override).
    pub max_output_tokens: u32,
    /// Sampling temperature (the agent's, or the client's override).
    pub temperature: f32,
    /// Context window to budget for.
    pub context_tokens: u32,
    /// When the whole turn must be over.
    pub deadline: tokio::time::Instant,
    /// Start of the turn.
    pub started_at: DateTime<Utc>,
    /// The budget reservation the turn holds (settled when it is recorded).
    pub reservation: Option<String>,
    /// The MCP tools among `tools`, which the turn dispatches to besides the built-in ones.
    pub mcp_tools: ToolRegistry,
    /// Where the reply goes when the caller sent a `webhookUrl` (queued with the turn).
    pub reply_to: Option<ReplyTo>,
}
