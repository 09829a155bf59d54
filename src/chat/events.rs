//! The one event stream of a turn (decision 2 of the design): `session_resolved`, `content`,
//! `tool_call`, `tool_call_complete`, `tool_result`, then `done` or `error`. SSE writes it as
//! is; the JSON endpoint folds it with [`Fold`].

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;

/// Token counts of a turn (summed over its inference calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnUsage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Sum of both.
    pub total_tokens: u64,
}

impl TurnUsage {
    /// Adds one inference call's usage.
    pub fn add(&mut self, prompt: u64, completion: u64) {
        self.prompt_tokens += prompt;
        self.completion_tokens += completion;
        self.total_tokens = self.prompt_tokens + self.completion_tokens;
    }
}

/// The final answer of a turn.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnReply {
    /// Assistant text.
    pub content: String,
    /// Session used.
    pub session_id: String,
    /// Distinct tools called, in first-call order.
    pub tools_used: Vec<String>,
    /// Token usage.
    pub usage: TurnUsage,
}

/// One event of a turn.
#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// The session was found or created.
    SessionResolved {
        /// Session id.
        session_id: String,
        /// True when created for this turn.
        is_new: bool,
    },
    /// A text delta.
    Content(String),
    /// The model started a tool call.
    ToolCall {
        /// Index within the round.
        index: usize,
        /// Tool name.
        name: String,
        /// Call id.
        tool_call_id: String,
    },
    /// The call's arguments are complete.
    ToolCallComplete {
        /// Index within the round.
        index: usize,
        /// Tool name.
        name: String,
        /// JSON text of the arguments.
        arguments: String,
    },
    /// A tool finished.
    ToolResult {
        /// Tool name.
        name: String,
        /// Wall time.
        duration_ms: u64,
        /// Error text when it failed.
        error: Option<String>,
    },
    /// The turn finished.
    Done(TurnReply),
    /// The turn failed.
    Error(ApiErrorData),
}

/// `{code, message}` of a failed turn, kept with the HTTP status it maps to.
#[derive(Debug, Clone)]
pub struct ApiErrorData {
    /// HTTP status for the JSON endpoint.
    pub status: u16,
    /// The error body (`code`, `message`, extras).
    pub body: Value,
}

impl ApiErrorData {
    /// The error message (a generic one when the body has none).
    pub fn message(&self) -> &str {
        self.body["message"]
            .as_str()
            .unwrap_or("the agent turn failed")
    }
}

impl From<&ApiError> for ApiErrorData {
    fn from(err: &ApiError) -> Self {
        Self {
            status: err.status().as_u16(),
            body: err.body(),
        }
    }
}

impl ChatEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::SessionResolved { .. } => "session_resolved",
            ChatEvent::Content(_) => "content",
            ChatEvent::ToolCall { .. } => "tool_call",
            ChatEvent::ToolCallComplete { .. } => "tool_call_complete",
            ChatEvent::ToolResult { .. } => "tool_result",
            ChatEvent::Done(_) => "done",
            ChatEvent::Error(_) => "error",
        }
    }

    /// The SSE data object, shaped as in the seed.
    pub fn data(&self) -> Value {
        match self {
            ChatEvent::SessionResolved { session_id, is_new } => {
                json!({ "sessionId": session_id, "isNew": is_new })
            }
            ChatEvent::Content(text) => json!({ "content": text }),
            ChatEvent::ToolCall {
                index,
                name,
                tool_call_id,
            } => {
                json!({ "index": index, "name": name, "toolCallId": tool_call_id })
            }
            ChatEvent::ToolCallComplete {
                index,
                name,
                arguments,
            } => {
                json!({ "index": index, "name": name, "arguments": arguments })
            }
            ChatEvent::ToolResult {
                name,
                duration_ms,
                error,
            } => {
                let mut v = json!({ "name": name, "durationMs": duration_ms });
                if let Some(e) = error {
                    v["error"] = json!(e);
                }
                v
            }
            ChatEvent::Done(reply) => serde_json::to_value(reply).unwrap_or(Value::Null),
            ChatEvent::Error(e) => e.body.clone(),
        }
    }
}

/// Folds the stream into the JSON reply of `/agent/chat`.
#[derive(Debug, Default)]
pub struct Fold {
    outcome: Option<Result<TurnReply, ApiErrorData>>,
}

impl Fold {
    /// Takes one event; only `done` and `error` matter for the JSON reply, since `done` carries
    /// the full content.
    pub fn push(&mut self, event: ChatEvent) {
        match event {
            ChatEvent::Done(reply) => self.outcome = Some(Ok(reply)),
            ChatEvent::Error(e) => self.outcome = Some(Err(e)),
            _ => {}
        }
    }

    /// The reply, or the error; a stream that ended without either is an internal error.
    pub fn finish(self) -> Result<TurnReply, ApiErrorData> {
        self.outcome.unwrap_or_else(|| {
            Err(ApiErrorData::from(&ApiError::Internal(anyhow::anyhow!(
                "turn ended without done or error"
            ))))
        })
    }
}
