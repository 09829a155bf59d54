//! A recorded turn as OTLP spans: the turn (root, `invoke_agent`) → its inference calls
//! (`chat`, with one child per attempt when there were retries or a fallback) → the tool
//! calls each `turn` call asked for (`execute_tool`). Attribute names follow the OpenTelemetry
//! GenAI semantic conventions; Astra's own are under `astra.*`.
//!
//! Ids are derived, not random, so reading a trace twice, or reading it and exporting it,
//! yields the same spans: the trace id is the 32 hex digits of the `trc_…` id (its UUIDv7),
//! and each span id the first 8 bytes of SHA-256 over the trace id and the span's place in
//! the tree. Timestamps are truncated to microseconds, the precision both engines store.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{
    detail::{Attempt, Detail, Inference, Tool},
    otlp::{KeyValue, Span, Status, kind},
};
use crate::store::TraceRow;

/// Every span of `trace`, the root first.
pub fn of(trace: &TraceRow) -> Vec<Span> {
    let detail = Detail::of(trace.detail.as_ref().map(|d| &d.0));
    let trace_id = trace_id(&trace.id);
    let ids = Ids { trace: &trace_id };
    let root = ids.span("turn");
    let mut spans = vec![turn_span(trace, &ids, &root)];
    let mut call_ids = Vec::with_capacity(detail.inference.len());
    for (i, call) in detail.inference.iter().enumerate() {
        let path = format!("inference/{i}");
        let id = ids.span(&path);
        spans.push(call_span(trace, call, &ids, &id, &root));
        if call.attempts.len() > 1 {
            for (j, attempt) in call.attempts.iter().enumerate() {
                let child = ids.span(&format!("{path}/attempt/{j}"));
                let start = attempt_start(attempt, call_start(trace, call));
                spans.push(attempt_span(attempt, &ids, &child, &id, start));
            }
        }
        call_ids.push(id);
    }
    let failed = &detail.failed_attempts;
    if let (Some(first), Some(last)) = (failed.first(), failed.last()) {
        let id = ids.span("failed");
        let attempts = (first, last, failed.len());
        spans.push(failed_call_span(trace, attempts, &ids, &id, &root));
        if failed.len() > 1 {
            let fallback = attempt_start(first, trace.started_at);
            for (j, attempt) in failed.iter().enumerate() {
                let child = ids.span(&format!("failed/attempt/{j}"));
                let start = attempt_start(attempt, fallback);
                spans.push(attempt_span(attempt, &ids, &child, &id, start));
            }
        }
    }
    for (k, tool) in detail.tools.iter().enumerate() {
        // The `turn` call of the tool's round asked for it; without a round, the turn.
        let parent = tool
            .round
            .and_then(|r| {
                detail
                    .inference
                    .iter()
                    .position(|c| c.purpose == "turn" && c.round == r)
            })
            .and_then(|i| call_ids.get(i))
            .unwrap_or(&root);
        spans.push(tool_span(
            trace,
            tool,
            &ids,
            &ids.span(&format!("tool/{k}")),
            parent,
        ));
    }
    spans
}

/// The OTLP trace id of a `trc_…` id: its UUID's hex digits, or a hash for other shapes.
pub fn trace_id(id: &str) -> String {
    let hex = id.strip_prefix("trc_").unwrap_or_default();
    let valid = hex.len() == 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && hex.bytes().any(|b| b != b'0');
    if valid {
        return hex.to_ascii_lowercase();
    }
    hashed(&format!("astra-trace:{id}"), 16)
}

/// Span ids of one trace.
struct Ids<'a> {
    trace: &'a str,
}

impl Ids<'_> {
    fn span(&self, path: &str) -> String {
        hashed(&format!("{}/{path}", self.trace), 8)
    }
}

/// The first `bytes` bytes of SHA-256 as hex; never all zero (an invalid id in OTLP).
fn hashed(input: &str, bytes: usize) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut id = digest[..bytes].to_vec();
    if id.iter().all(|b| *b == 0) {
        id[bytes - 1] = 1;
    }
    hex::encode(id)
}

fn turn_span(trace: &TraceRow, ids: &Ids<'_>, id: &str) -> Span {
    let mut attrs = vec![
        KeyValue::string("gen_ai.operation.name", "invoke_agent"),
        KeyValue::string("gen_ai.agent.id", &trace.agent_id),
        KeyValue::int("gen_ai.usage.input_tokens", trace.prompt_tokens),
        KeyValue::int("gen_ai.usage.output_tokens", trace.completion_tokens),
        KeyValue::string("astra.trace.id", &trace.id),
        KeyValue::string("astra.agent.id", &trace.agent_id),
        KeyValue::string("astra.workspace.id", &trace.workspace_id),
        KeyValue::string("astra.user.id", &trace.user_id),
        KeyValue::string("astra.turn.status", &trace.status),
        KeyValue::double("astra.cost_usd", trace.cost_usd),
    ];
    if let Some(session) = &trace.session_id {
        attrs.push(KeyValue::string("gen_ai.conversation.id", session));
        attrs.push(KeyValue::string("astra.session.id", session));
    }
    if let Some(request) = &trace.request_id {
        attrs.push(KeyValue::string("astra.request.id", request));
    }
    let status = match trace.status.as_str() {
        "ok" => Status::ok(),
        "cancelled" => Status::unset(),
        other => {
            attrs.push(KeyValue::string("error.type", other));
            Status::error(trace.error.clone().unwrap_or_else(|| other.to_string()))
        }
    };
    span(
        ids,
        id,
        None,
        format!("invoke_agent {}", trace.agent_id),
        kind::INTERNAL,
    )
    .times(trace.started_at, trace.finished_at)
    .done(attrs, status)
}

/// Where an inference call starts: its first attempt, else its stream, else the turn.
fn call_start(trace: &TraceRow, call: &Inference) -> DateTime<Utc> {
    call.attempts
        .first()
        .and_then(|a| a.started_at)
        .or(call.started_at)
        .unwrap_or(trace.started_at)
}

fn call_span(trace: &TraceRow, call: &Inference, ids: &Ids<'_>, id: &str, root: &str) -> Span {
    let start = call_start(trace, call);
    let end = call.started_at.unwrap_or(start) + millis(call.latency_ms);
    let requested = call.attempts.first();
    let request_model = requested.map_or(call.model.as_str(), |a| a.model.as_str());
    let request_provider = requested.map_or(call.provider.as_str(), |a| a.provider.as_str());
    let mut attrs = vec![
        KeyValue::string("gen_ai.operation.name", "chat"),
        KeyValue::string("gen_ai.system", gen_ai_system(&call.provider)),
        KeyValue::string("gen_ai.request.model", request_model),
        KeyValue::string("gen_ai.response.model", &call.model),
        KeyValue::int("gen_ai.usage.input_tokens", call.prompt_tokens),
        KeyValue::int("gen_ai.usage.output_tokens", call.completion_tokens),
        KeyValue::string("astra.provider", &call.provider),
        KeyValue::string("astra.purpose", &call.purpose),
        KeyValue::int("astra.round", i64::from(call.round)),
        KeyValue::bool("astra.usage.estimated", call.estimated),
        KeyValue::int("astra.attempts", call.attempts.len() as i64),
        KeyValue::bool(
            "astra.fallback",
            (request_provider, request_model) != (call.provider.as_str(), call.model.as_str()),
        ),
    ];
    if let Some(reason) = &call.finish_reason {
        let reasons = [finish_reason(reason)];
        attrs.push(KeyValue::strings("gen_ai.response.finish_reasons", reasons));
    }
    if let Some(cost) = call.cost_usd {
        attrs.push(KeyValue::double("astra.cost_usd", cost));
    }
    span(
        ids,
        id,
        Some(root),
        format!("chat {}", call.model),
        kind::CLIENT,
    )
    .times(start, end)
    .done(attrs, Status::unset())
}

/// The call that never started a stream: its attempts (first, last, count) all failed, and
/// so did the turn.
fn failed_call_span(
    trace: &TraceRow,
    (first, last, count): (&Attempt, &Attempt, usize),
    ids: &Ids<'_>,
    id: &str,
    root: &str,
) -> Span {
    let start = attempt_start(first, trace.started_at);
    let end = attempt_start(last, start) + millis(last.latency_ms);
    let attrs = vec![
        KeyValue::string("gen_ai.operation.name", "chat"),
        KeyValue::string("gen_ai.system", gen_ai_system(&first.provider)),
        KeyValue::string("gen_ai.request.model", &first.model),
        KeyValue::string("astra.provider", &first.provider),
        KeyValue::int("astra.attempts", count as i64),
        KeyValue::string("error.type", error_type(last)),
    ];
    let message = last.error.clone().unwrap_or_else(|| last.outcome.clone());
    span(
        ids,
        id,
        Some(root),
        format!("chat {}", first.model),
        kind::CLIENT,
    )
    .times(start, end.max(start))
    .done(attrs, Status::error(message))
}

fn attempt_start(attempt: &Attempt, fallback: DateTime<Utc>) -> DateTime<Utc> {
    attempt.started_at.unwrap_or(fallback)
}

/// One provider attempt (a child of its call when there was more than one).
fn attempt_span(
    attempt: &Attempt,
    ids: &Ids<'_>,
    id: &str,
    parent: &str,
    start: DateTime<Utc>,
) -> Span {
    let mut attrs = vec![
        KeyValue::string("gen_ai.system", gen_ai_system(&attempt.provider)),
        KeyValue::string("gen_ai.request.model", &attempt.model),
        KeyValue::string("astra.provider", &attempt.provider),
        KeyValue::int("astra.attempt", i64::from(attempt.attempt)),
        KeyValue::string("astra.attempt.outcome", &attempt.outcome),
        KeyValue::string("astra.breaker_state", &attempt.breaker_state),
    ];
    if let Some(status) = attempt.http_status {
        attrs.push(KeyValue::int(
            "http.response.status_code",
            i64::from(status),
        ));
    }
    let status = if attempt.outcome == "ok" {
        Status::unset()
    } else {
        attrs.push(KeyValue::string("error.type", error_type(attempt)));
        Status::error(
            attempt
                .error
                .clone()
                .unwrap_or_else(|| attempt.outcome.clone()),
        )
    };
    let name = format!("attempt {} {}", attempt.attempt, attempt.provider);
    span(ids, id, Some(parent), name, kind::CLIENT)
        .times(start, start + millis(attempt.latency_ms))
        .done(attrs, status)
}

fn tool_span(trace: &TraceRow, tool: &Tool, ids: &Ids<'_>, id: &str, parent: &str) -> Span {
    let start = tool.started_at.unwrap_or(trace.started_at);
    let mut attrs = vec![
        KeyValue::string("gen_ai.operation.name", "execute_tool"),
        KeyValue::string("gen_ai.tool.name", &tool.name),
        KeyValue::bool("astra.tool.cached", tool.cached),
    ];
    if let Some(call) = &tool.tool_call_id {
        attrs.push(KeyValue::string("gen_ai.tool.call.id", call));
    }
    let status = match &tool.error {
        Some(message) => {
            attrs.push(KeyValue::string("error.type", "tool_error"));
            Status::error(message.clone())
        }
        None => Status::unset(),
    };
    span(
        ids,
        id,
        Some(parent),
        format!("execute_tool {}", tool.name),
        kind::INTERNAL,
    )
    .times(start, start + millis(tool.duration_ms))
    .done(attrs, status)
}

/// `error.type` of a failed attempt: the upstream status, else its outcome.
fn error_type(attempt: &Attempt) -> String {
    attempt
        .http_status
        .map_or_else(|| attempt.outcome.clone(), |s| s.to_string())
}

/// A recorded finish reason (the lowercased variant name: `toolcalls`, `other("x")`) in the
/// provider wording the conventions use (`tool_calls`, `x`).
fn finish_reason(recorded: &str) -> String {
    match recorded {
        "toolcalls" => "tool_calls".into(),
        "contentfilter" => "content_filter".into(),
        other => other
            .strip_prefix("other(\"")
            .and_then(|r| r.strip_suffix("\")"))
            .unwrap_or(other)
            .to_string(),
    }
}

/// `gen_ai.system`: the well-known value for Astra's provider ids; others as they are.
pub fn gen_ai_system(provider: &str) -> &str {
    match provider {
        "claude" => "anthropic",
        "gemini" => "gcp.gemini",
        "grok" => "xai",
        "mistral" => "mistral_ai",
        "bedrock" => "aws.bedrock",
        other => other,
    }
}

fn millis(ms: u64) -> Duration {
    Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX / 1_000_000))
}

/// A span being built.
struct Draft {
    span: Span,
}

fn span(ids: &Ids<'_>, id: &str, parent: Option<&str>, name: String, kind: i32) -> Draft {
    Draft {
        span: Span {
            trace_id: ids.trace.to_string(),
            span_id: id.to_string(),
            parent_span_id: parent.map(str::to_string),
            name,
            kind,
            start_time_unix_nano: String::new(),
            end_time_unix_nano: String::new(),
            attributes: Vec::new(),
            status: Status::unset(),
        },
    }
}

impl Draft {
    fn times(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.span.start_time_unix_nano = nanos(start);
        self.span.end_time_unix_nano = nanos(end.max(start));
        self
    }
    fn done(mut self, attributes: Vec<KeyValue>, status: Status) -> Span {
        self.span.attributes = attributes;
        self.span.status = status;
        self.span
    }
}

/// Nanoseconds since the epoch as a decimal string, at microsecond precision.
fn nanos(t: DateTime<Utc>) -> String {
    (i128::from(t.timestamp_micros()) * 1000).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_the_uuid_hex_or_a_stable_hash() {
        let id = "trc_0192f0a1b2c3d4e5f60718293a4b5c6d";
        assert_eq!(trace_id(id), "0192f0a1b2c3d4e5f60718293a4b5c6d");
        let odd = trace_id("trc_legacy");
        assert_eq!(odd.len(), 32);
        assert_eq!(odd, trace_id("trc_legacy"));
        assert_ne!(trace_id(&format!("trc_{}", "0".repeat(32))), "0".repeat(32));
    }

    #[test]
    fn span_ids_are_stable_distinct_and_never_zero() {
        let ids = Ids { trace: "ab" };
        assert_eq!(ids.span("turn"), ids.span("turn"));
        assert_ne!(ids.span("turn"), ids.span("tool/0"));
        assert_eq!(ids.span("turn").len(), 16);
    }

    #[test]
    fn finish_reasons_use_the_provider_wording() {
        assert_eq!(finish_reason("toolcalls"), "tool_calls");
        assert_eq!(finish_reason("stop"), "stop");
        assert_eq!(finish_reason("other(\"end_turn\")"), "end_turn");
        assert_eq!(gen_ai_system("claude"), "anthropic");
        assert_eq!(gen_ai_system("openai"), "openai");
    }

    #[test]
    fn timestamps_are_nanoseconds_at_microsecond_precision() {
        let t = DateTime::<Utc>::from_timestamp(1, 123_456_789).unwrap();
        assert_eq!(nanos(t), "1123456000");
    }
}
