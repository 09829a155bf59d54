//! `chat.completion.chunk` server-sent events: a first delta with the role, one delta per
//! `content` event of the turn, a final chunk with `finish_reason` and `astra`, a usage
//! chunk when asked for, then `data: [DONE]`. Tool activity already ran server-side and is
//! not shown as OpenAI tool calls.

use axum::response::sse::Event;
use futures_util::{Stream, StreamExt, stream};
use serde_json::{Value, json};

use super::{dto::UsageOut, error::error_body};
use crate::chat::events::ChatEvent;

/// What every chunk of one completion repeats, and what the final chunk adds.
#[derive(Debug, Clone)]
pub struct ChunkFrame {
    /// `chatcmpl-…`.
    pub id: String,
    /// Unix seconds.
    pub created: i64,
    /// The requested model.
    pub model: String,
    /// Send a usage chunk after the final one.
    pub include_usage: bool,
    /// The surface id to continue the conversation with (`None` for a raw model).
    pub surface_id: Option<String>,
    /// The turn's trace.
    pub trace_id: String,
}

impl ChunkFrame {
    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        })
    }

    fn delta(&self, delta: Value, finish: Option<&str>) -> Value {
        self.chunk(json!([{ "index": 0, "delta": delta, "finish_reason": finish }]))
    }

    /// The chunks one turn event becomes (none for tool activity).
    fn frames(&self, event: ChatEvent) -> Vec<Value> {
        match event {
            ChatEvent::SessionResolved { .. } => {
                vec![self.delta(json!({"role": "assistant", "content": ""}), None)]
            }
            ChatEvent::Content(text) => vec![self.delta(json!({ "content": text }), None)],
            ChatEvent::Done(reply) => {
                let mut last = self.delta(json!({}), Some("stop"));
                last["astra"] = json!({
                    "toolsUsed": reply.tools_used,
                    "traceId": self.trace_id,
                });
                if let Some(surface) = &self.surface_id {
                    last["astra"]["sessionId"] = json!(reply.session_id);
                    last["astra"]["surfaceId"] = json!(surface);
                }
                let mut frames = vec![last];
                if self.include_usage {
                    let mut usage = self.chunk(json!([]));
                    usage["usage"] = json!(UsageOut::from(reply.usage));
                    frames.push(usage);
                }
                frames
            }
            ChatEvent::Error(failure) => {
                let status = axum::http::StatusCode::from_u16(failure.status)
                    .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
                vec![json!(error_body(status, &failure.body))]
            }
            ChatEvent::ToolCall { .. }
            | ChatEvent::ToolCallComplete { .. }
            | ChatEvent::ToolResult { .. } => Vec::new(),
        }
    }
}

/// The SSE events of a running turn, ending with `[DONE]`.
pub fn chunks(
    frame: ChunkFrame,
    events: impl Stream<Item = ChatEvent> + Send + 'static,
) -> impl Stream<Item = Event> + Send + 'static {
    events
        .flat_map(move |event| {
            let frames: Vec<Event> = frame
                .frames(event)
                .into_iter()
                .map(|v| Event::default().data(v.to_string()))
                .collect();
            stream::iter(frames)
        })
        .chain(stream::once(async { Event::default().data("[DONE]") }))
}
