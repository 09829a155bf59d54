//! Series names. Labels are bounded: route templates, methods, statuses, provider and model
//! ids from the configuration, tool names from the catalogue, limiter kinds; never user,
//! workspace or session ids.

/// Counter `{route, method, status}`.
pub const HTTP_REQUESTS: &str = "astra_http_requests_total";
/// Histogram `{route, method}`.
pub const HTTP_DURATION: &str = "astra_http_request_duration_seconds";
/// Counter `{status}`: `ok`, `error`, `timeout`, `cancelled`.
pub const TURNS: &str = "astra_turns_total";
/// Histogram `{provider, model}`.
pub const INFERENCE_DURATION: &str = "astra_inference_duration_seconds";
/// Counter `{provider, model, kind}`: `prompt`, `completion`, `cached`.
pub const INFERENCE_TOKENS: &str = "astra_inference_tokens_total";
/// Counter `{provider, model}` (float; rendered by [`super::cost`]).
pub const INFERENCE_COST: &str = "astra_inference_cost_usd_total";
/// Counter `{provider, outcome}`: `ok`, `error`, `circuit_open`.
pub const INFERENCE_ATTEMPTS: &str = "astra_inference_attempts_total";
/// Counter `{tool, outcome}`: `ok`, `cached`, `error`.
pub const TOOL_CALLS: &str = "astra_tool_calls_total";
/// Histogram `{tool}`.
pub const TOOL_DURATION: &str = "astra_tool_call_duration_seconds";
/// Counter `{kind}`: `ip`, `user`, `autonomous`, `auth`, `token_budget`, `quota`.
pub const RATE_LIMITED: &str = "astra_rate_limited_total";
/// Counter: Redis commands that failed or timed out (the cluster fell back to local state).
pub const REDIS_ERRORS: &str = "astra_redis_errors_total";
/// Gauge `{provider}`: 1 open, 0 otherwise.
pub const BREAKER_OPEN: &str = "astra_breaker_open";
/// Gauge: jobs `pending`.
pub const JOBS_QUEUED: &str = "astra_jobs_queued";
/// Gauge: deliveries `pending` or `sending`.
pub const DELIVERIES_PENDING: &str = "astra_webhook_deliveries_pending";
/// Gauge: enabled monitors with `next_run_at` in the past.
pub const MONITORS_DUE: &str = "astra_monitors_due";
/// Gauge `{state}`: `in_use`, `idle`.
pub const DB_CONNECTIONS: &str = "astra_db_pool_connections";
/// Gauge: the pool's maximum size (`ASTRA_DB_MAX_CONNECTIONS`).
pub const DB_MAX_CONNECTIONS: &str = "astra_db_pool_max_connections";
/// Counter: write transactions that found the pool exhausted and waited for a connection.
pub const DB_WAITS: &str = "astra_db_pool_waits_total";
/// Histogram: time until a write transaction was open (connection + `BEGIN`).
pub const DB_BEGIN_DURATION: &str = "astra_db_write_begin_duration_seconds";
/// Gauge: open SSE streams.
pub const SSE_STREAMS: &str = "astra_sse_streams_open";
/// Gauge: open WebSocket connections.
pub const WS_CONNECTIONS: &str = "astra_websocket_connections";
/// Gauge: resident set size, bytes.
pub const PROCESS_RSS: &str = "astra_process_resident_memory_bytes";
/// Counter `{outcome}`: `exported`, `dropped` (queue full), `failed` (collector refused or
/// unreachable) — spans of the OTLP trace exporter.
pub const OTLP_SPANS: &str = "astra_otlp_spans_total";
/// Counter `{embedder}`: memory chunks embedded by the background batcher.
pub const MEMORY_EMBEDDED: &str = "astra_memory_embedded_total";
/// Gauge: memory chunks waiting to be embedded.
pub const MEMORY_EMBED_BACKLOG: &str = "astra_memory_embed_backlog";
/// Gauge: seconds since the oldest waiting memory chunk was queued (0 when none waits).
pub const MEMORY_EMBED_LAG: &str = "astra_memory_embed_lag_seconds";
