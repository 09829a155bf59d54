//! The recorded `detail` document of a trace (written by `chat::record`), read back leniently
//! for the OTLP view: every field has a default, so traces recorded before a field existed
//! (no `startedAt`, no tool `round`) still convert, with coarser timing.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// The parts of `detail` the span tree is built from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Detail {
    /// Inference calls that produced output, in order.
    pub inference: Vec<Inference>,
    /// Attempts of a call that never started a stream (the turn then failed).
    pub failed_attempts: Vec<Attempt>,
    /// Tool calls, in order.
    pub tools: Vec<Tool>,
}

impl Detail {
    /// Reads `detail`; a document of another shape yields an empty detail (root span only).
    pub fn of(detail: Option<&Value>) -> Self {
        detail
            .and_then(|d| Self::deserialize(d).ok())
            .unwrap_or_default()
    }
}

/// One inference call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Inference {
    /// `turn` or `compaction`.
    pub purpose: String,
    /// Tool round (0-based).
    pub round: u32,
    /// Provider that served it.
    pub provider: String,
    /// Model that served it.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// True when the tokens are an estimate (call cut off).
    pub estimated: bool,
    /// From the stream's start to its end.
    pub latency_ms: u64,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// Attempts before the stream started (retries, fallback).
    pub attempts: Vec<Attempt>,
    /// When the stream started.
    pub started_at: Option<DateTime<Utc>>,
    /// Priced cost.
    pub cost_usd: Option<f64>,
}

/// One provider attempt.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attempt {
    /// Provider id.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// 1-based per target.
    pub attempt: u32,
    /// `ok`, `error`, `circuit_open`.
    pub outcome: String,
    /// Upstream status, when the failure carried one.
    pub http_status: Option<u16>,
    /// Time to the first event or the failure.
    pub latency_ms: u64,
    /// The error.
    pub error: Option<String>,
    /// Breaker state when considered.
    pub breaker_state: String,
    /// When it was made.
    pub started_at: Option<DateTime<Utc>>,
}

/// One tool call.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tool {
    /// Tool name.
    pub name: String,
    /// The model's call id.
    pub tool_call_id: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
    /// Error message when it failed.
    pub error: Option<String>,
    /// Served from the cache.
    pub cached: bool,
    /// The tool round, i.e. the `turn` inference call that asked for it.
    pub round: Option<u32>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn old_documents_without_timing_still_read() {
        let d = Detail::of(Some(&json!({
            "inference": [{"purpose": "turn", "round": 0, "provider": "openai", "model": "m",
                "promptTokens": 1, "completionTokens": 2, "latencyMs": 3, "attempts": []}],
            "tools": [{"name": "calculator", "durationMs": 1, "error": null, "cached": false}],
            "failedAttempts": [], "breakers": [], "compaction": null, "toolsUsed": []
        })));
        assert_eq!(d.inference.len(), 1);
        assert!(d.inference[0].started_at.is_none() && d.tools[0].round.is_none());
        assert!(
            Detail::of(Some(&json!("not a detail")))
                .inference
                .is_empty()
        );
    }
}
