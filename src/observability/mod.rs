//! Prometheus metrics: the series names, the process-wide recorder and the one-line helpers
//! the request path records through. No axum here: `src/http/prometheus.rs` serves the text.
//!
//! One recorder per process. The `metrics` macros report to a single global recorder, so the
//! first [`handle`] call installs one (guarded by a `OnceLock`) and every app of the process
//! shares its handle: a test binary that starts many apps therefore sees
//! counters and histograms summed over all of them (tests assert "at least"), while gauges are
//! set from the scraping app's own readings just before rendering ([`gauges`]).

pub mod cost;
pub mod gauges;
pub mod names;
pub mod process;
pub mod queues;

use std::{
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::{BeginSample, UsageRow};
use names::*;

/// Latency buckets (seconds) of every `*_seconds` histogram: 5 ms to 2 min.
const SECONDS_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Histogram samples are kept until drained; without scrapes they are drained at most this
/// often from the request path, so memory stays bounded.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The handle on the process-wide recorder, installing it on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install).clone()
}

fn install() -> PrometheusHandle {
    // Only an empty bucket list is refused; the constant is not empty.
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("a metrics recorder was already installed: /metrics/prometheus stays empty");
    }
    describe();
    crate::store::observe_begins(db_begin);
    handle
}

/// `# HELP` lines.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        "Time until the response head, by route template"
    );
    describe_counter!(TURNS, "Chat turns by final status");
    describe_histogram!(INFERENCE_DURATION, "Duration of one inference call");
    describe_counter!(INFERENCE_TOKENS, "Tokens by provider, model and kind");
    describe_counter!(
        INFERENCE_ATTEMPTS,
        "Provider attempts by provider and outcome"
    );
    describe_counter!(TOOL_CALLS, "Tool calls by tool and outcome");
    describe_histogram!(TOOL_DURATION, "Duration of one tool call");
    describe_counter!(
        RATE_LIMITED,
        "Requests refused by a rate limiter, the token budget or a quota, by kind"
    );
    describe_counter!(
        REDIS_ERRORS,
        "Redis commands that failed or timed out (per-replica fallback used)"
    );
    describe_gauge!(
        BREAKER_OPEN,
        "1 while the provider's circuit breaker is open"
    );
    describe_gauge!(JOBS_QUEUED, "Jobs waiting to run");
    describe_gauge!(DELIVERIES_PENDING, "Webhook deliveries not yet delivered");
    describe_gauge!(MONITORS_DUE, "Enabled heartbeat monitors whose run is due");
    describe_gauge!(DB_CONNECTIONS, "Database pool connections by state");
    describe_gauge!(DB_MAX_CONNECTIONS, "Maximum size of the database pool");
    describe_counter!(
        DB_WAITS,
        "Write transactions that found the pool exhausted and waited for a connection"
    );
    describe_histogram!(
        DB_BEGIN_DURATION,
        "Time until a write transaction was open (pooled connection and BEGIN)"
    );
    describe_gauge!(SSE_STREAMS, "Open SSE streams");
    describe_gauge!(WS_CONNECTIONS, "Open WebSocket connections");
    describe_gauge!(PROCESS_RSS, "Resident set size of the process, bytes");
    describe_counter!(OTLP_SPANS, "Spans of the OTLP trace exporter by outcome");
}

/// One HTTP request; `route` is the route template (or `unmatched`), never a raw path.
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let (route, method, status) = (route.to_string(), method.to_string(), status.to_string());
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method.clone())
        .record(elapsed.as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    upkeep();
}

/// A finished turn: its status and its inference calls (`usage` rows with their costs, and
/// each call's duration in the same order).
pub fn turn(status: &'static str, usage: &[UsageRow], latencies_ms: impl Iterator<Item = u64>) {
    counter!(TURNS, "status" => status).increment(1);
    for (row, ms) in usage.iter().zip(latencies_ms) {
        let (p, m) = (row.provider.clone(), row.model.clone());
        histogram!(INFERENCE_DURATION, "provider" => p.clone(), "model" => m.clone())
            .record(Duration::from_millis(ms).as_secs_f64());
        let tokens = [
            ("prompt", row.prompt_tokens),
            ("completion", row.completion_tokens),
            ("cached", row.cached_tokens),
        ];
        for (kind, n) in tokens {
            counter!(INFERENCE_TOKENS, "provider" => p.clone(), "model" => m.clone(), "kind" => kind)
                .increment(u64::try_from(n).unwrap_or(0));
        }
        cost::add(&p, &m, row.cost_usd);
    }
}

/// How one provider attempt ended, as the caller (the provider layer) classified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceOutcome {
    /// The provider answered.
    Ok,
    /// The breaker was open: nothing was sent.
    CircuitOpen,
    /// Any other failure.
    Error,
}

/// One provider attempt: `ok`, `circuit_open` (not sent) or `error`. Takes the outcome rather
/// than the provider error so this module stays below `providers`.
pub fn inference_attempt(provider: &str, outcome: InferenceOutcome) {
    let outcome = match outcome {
        InferenceOutcome::Ok => "ok",
        InferenceOutcome::CircuitOpen => "circuit_open",
        InferenceOutcome::Error => "error",
    };
    counter!(INFERENCE_ATTEMPTS, "provider" => provider.to_string(), "outcome" => outcome)
        .increment(1);
}

/// One tool call. Names the model made up (not in `offered`) are counted as `unknown`, so the
/// label stays bounded by the tool catalogue.
pub fn tool_call(name: &str, offered: &[String], ok: bool, cached: bool, duration_ms: u64) {
    let tool = if offered.iter().any(|o| o == name) {
        name.to_string()
    } else {
        "unknown".to_string()
    };
    let outcome = match (ok, cached) {
        (true, true) => "cached",
        (true, false) => "ok",
        (false, _) => "error",
    };
    histogram!(TOOL_DURATION, "tool" => tool.clone())
        .record(Duration::from_millis(duration_ms).as_secs_f64());
    counter!(TOOL_CALLS, "tool" => tool, "outcome" => outcome).increment(1);
}

/// One write-transaction begin, reported by the store.
fn db_begin(sample: BeginSample) {
    histogram!(DB_BEGIN_DURATION).record(sample.elapsed.as_secs_f64());
    if sample.waited {
        counter!(DB_WAITS).increment(1);
    }
}

/// A request refused by the rate limiter named `kind` (`ip`, `user`, `autonomous`, `auth`), or
/// a turn refused by the monthly token budget (`token_budget`) or an agent quota (`quota`).
pub fn rate_limited(kind: &'static str) {
    counter!(RATE_LIMITED, "kind" => kind).increment(1);
}

/// A Redis command failed or timed out.
pub fn redis_error() {
    counter!(REDIS_ERRORS).increment(1);
}

/// How spans handed to the OTLP exporter ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpOutcome {
    /// The collector accepted them.
    Exported,
    /// The exporter's queue was full (or closed at shutdown): never sent.
    Dropped,
    /// Sent, but refused or unreachable after the retries (or rejected by the collector).
    Failed,
}

/// `n` spans of the OTLP exporter ended as `outcome`.
pub fn otlp_spans(outcome: OtlpOutcome, n: usize) {
    if n == 0 {
        return;
    }
    let outcome = match outcome {
        OtlpOutcome::Exported => "exported",
        OtlpOutcome::Dropped => "dropped",
        OtlpOutcome::Failed => "failed",
    };
    counter!(OTLP_SPANS, "outcome" => outcome).increment(u64::try_from(n).unwrap_or(u64::MAX));
}

/// Drains histogram samples at most every [`UPKEEP_EVERY`].
fn upkeep() {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = STARTED.get_or_init(Instant::now).elapsed().as_secs();
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + UPKEEP_EVERY.as_secs()
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        handle().run_upkeep();
    }
}
