//! What happened during a turn, accumulated as it runs so that a turn cut off at any point
//! (client gone, timeout, provider failure) can still be saved and billed.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::types::Json;

use super::{context::estimate_tokens, tool_exec::ToolOutcome};
use crate::{
    providers::{AttemptRecord, Target, ToolCall, Usage},
    store::{MessageRow, ids::new_id},
};

/// One inference call.
#[derive(Debug, Clone)]
pub struct CallLog {
    /// `turn` or `compaction`.
    pub purpose: &'static str,
    /// Tool round (0-based).
    pub round: u32,
    /// What served it.
    pub target: Target,
    /// Usage as reported, or estimated when the call was cut off.
    pub usage: Usage,
    /// True when `usage` is an estimate.
    pub estimated: bool,
    /// Time to the last event.
    pub latency_ms: u64,
    /// When the stream started (after the attempts), for the trace's timeline.
    pub started_at: DateTime<Utc>,
    /// Why the model stopped.
    pub finish: String,
    /// Retries, fallbacks and breaker states seen.
    pub attempts: Vec<AttemptRecord>,
}

/// One executed tool call.
#[derive(Debug, Clone)]
pub struct ToolCallLog {
    /// Tool name.
    pub name: String,
    /// Wall time.
    pub duration_ms: u64,
    /// True when it failed.
    pub error: bool,
}

/// An inference call in progress.
#[derive(Debug)]
pub struct OpenCall {
    purpose: &'static str,
    round: u32,
    target: Target,
    attempts: Vec<AttemptRecord>,
    prompt_estimate: u64,
    text: String,
    usage: Option<Usage>,
    started: Instant,
    started_at: DateTime<Utc>,
}

/// Accumulated record of a turn.
#[derive(Debug, Default)]
pub struct TurnLog {
    /// Finished inference calls.
    pub calls: Vec<CallLog>,
    open: Option<OpenCall>,
    /// Tool calls for the trace.
    pub tool_trace: Vec<Value>,
    /// Tool calls for skill metrics.
    pub tool_calls: Vec<ToolCallLog>,
    /// Assistant and tool messages to save.
    pub messages: Vec<MessageRow>,
    /// All assistant text of the turn.
    pub text: String,
    /// Distinct tools used, in first-use order.
    pub tools_used: Vec<String>,
    /// Compaction details, when it ran.
    pub compaction: Option<Value>,
    /// Attempts of calls that never started a stream.
    pub failed_attempts: Vec<AttemptRecord>,
}

impl TurnLog {
    /// Starts tracking an inference call.
    pub fn open_call(
        &mut self,
        purpose: &'static str,
        round: u32,
        target: Target,
        attempts: Vec<AttemptRecord>,
        prompt_estimate: u64,
    ) {
        self.close_call("cut_off");
        self.open = Some(OpenCall {
            purpose,
            round,
            target,
            attempts,
            prompt_estimate,
            text: String::new(),
            usage: None,
            started: Instant::now(),
            started_at: Utc::now(),
        });
    }

    /// Records streamed text of the open call (and of the turn, for turn calls).
    pub fn push_text(&mut self, delta: &str) {
        if let Some(open) = &mut self.open {
            open.text.push_str(delta);
            if open.purpose == "turn" {
                self.text.push_str(delta);
            }
        }
    }

    /// Records reported usage of the open call.
    pub fn set_usage(&mut self, usage: Usage) {
        if let Some(open) = &mut self.open {
            open.usage = Some(usage);
        }
    }

    /// Closes the open call; without reported usage, tokens are estimated so that a call
    /// cut off mid-stream is still billed.
    pub fn close_call(&mut self, finish: &str) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (usage, estimated) = match open.usage {
            Some(u) => (u, false),
            None => (
                Usage {
                    prompt_tokens: open.prompt_estimate,
                    completion_tokens: if open.text.is_empty() {
                        0
                    } else {
                        estimate_tokens(&open.text)
                    },
                    cached_prompt_tokens: 0,
                },
                true,
            ),
        };
        self.calls.push(CallLog {
            purpose: open.purpose,
            round: open.round,
            target: open.target,
            usage,
            estimated,
            latency_ms: open.started.elapsed().as_millis() as u64,
            started_at: open.started_at,
            finish: finish.to_string(),
            attempts: open.attempts,
        });
    }

    /// Text of the open call so far.
    pub fn open_text(&self) -> &str {
        self.open
            .as_ref()
            .map(|o| o.text.as_str())
            .unwrap_or_default()
    }

    /// Text streamed to the client by a turn call that is still open (cut off).
    pub fn partial_turn_text(&self) -> &str {
        match &self.open {
            Some(o) if o.purpose == "turn" => &o.text,
            _ => "",
        }
    }

    /// Adds an assistant message (with its tool calls) to be saved.
    pub fn push_assistant(
        &mut self,
        session_id: &str,
        content: &str,
        calls: &[ToolCall],
        incomplete: bool,
    ) {
        let tool_calls =
            (!calls.is_empty()).then(|| Json(serde_json::to_value(calls).unwrap_or(Value::Null)));
        self.messages.push(MessageRow {
            id: new_id("msg"),
            session_id: session_id.to_string(),
            role: "assistant".into(),
            content: content.to_string(),
            tool_calls,
            tool_call_id: None,
            name: None,
            incomplete,
            created_at: Utc::now(),
        });
    }

    /// Adds a tool result message to be saved, and notes the tool (asked for in tool
    /// `round`) in the trace.
    pub fn push_tool_result(&mut self, session_id: &str, outcome: &ToolOutcome, round: u32) {
        let ToolOutcome {
            call,
            content,
            duration_ms,
            error,
            cached,
            started_at,
        } = outcome;
        let (duration_ms, error, cached) = (*duration_ms, error.as_deref(), *cached);
        if !self.tools_used.contains(&call.name) {
            self.tools_used.push(call.name.clone());
        }
        self.tool_calls.push(ToolCallLog {
            name: call.name.clone(),
            duration_ms,
            error: error.is_some(),
        });
        self.tool_trace.push(json!({
            "name": call.name, "toolCallId": call.id, "durationMs": duration_ms,
            "error": error, "cached": cached, "round": round, "startedAt": started_at,
        }));
        self.messages.push(MessageRow {
            id: new_id("msg"),
            session_id: session_id.to_string(),
            role: "tool".into(),
            content: content.to_string(),
            tool_calls: None,
            tool_call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            incomplete: false,
            created_at: Utc::now(),
        });
    }

    /// Prompt and completion tokens over all calls.
    pub fn totals(&self) -> (u64, u64) {
        self.calls.iter().fold((0, 0), |(p, c), call| {
            (
                p + call.usage.prompt_tokens,
                c + call.usage.completion_tokens,
            )
        })
    }
}
