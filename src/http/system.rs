//! Health, readiness, metrics: the public system routes.
//!
//! `/metrics` is public and cheap: its database counters are computed at most once per
//! `ASTRA_METRICS_REFRESH_SECS` (one refresh at a time, others reuse the last figures), so a
//! flood of calls cannot turn into a flood of `COUNT(*)` scans. Money figures are shown only
//! with the internal `X-Api-Key`.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use axum::{Extension, Json, extract::State, http::StatusCode};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::InternalKey;
use crate::{
    app::AppState,
    error::{ApiError, ApiResult},
    store::GlobalCounts,
};

/// Routes of the system group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(readiness))
        .routes(routes!(metrics))
        .layer(Extension(Arc::new(CountsCache::default())))
}

/// The last database counters of `/metrics` and when they were read.
#[derive(Default)]
struct CountsCache {
    /// An async lock, so concurrent callers wait for one refresh instead of each scanning.
    last: tokio::sync::Mutex<Option<(Instant, DateTime<Utc>, GlobalCounts)>>,
}

impl CountsCache {
    /// The counters, refreshed when older than the configured period or from another month.
    async fn get(&self, state: &AppState, month_start: DateTime<Utc>) -> ApiResult<GlobalCounts> {
        let mut last = self.last.lock().await;
        if let Some((at, month, counts)) = last.as_ref()
            && at.elapsed() < state.config.dos.metrics_refresh
            && *month == month_start
        {
            return Ok(counts.clone());
        }
        let counts = state.store.global_counts(month_start).await?;
        *last = Some((Instant::now(), month_start, counts.clone()));
        Ok(counts)
    }
}

/// Deep health check: a database round trip; 503 if any check fails.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, description = "all checks pass"), (status = 503, description = "a check failed")))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.store.ping().await;
    let ok = database;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "checks": { state.store.engine(): database },
        "wsConnections": state.open_streams.load(Ordering::Relaxed),
        "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    (status, Json(body))
}

/// Readiness probe: 503 until migrations have run or while the database is unreachable.
#[utoipa::path(get, path = "/readiness", tag = "system",
    responses((status = 200, description = "{ready: true}"), (status = 503, description = "{ready: false}")))]
async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let ready = state.ready.load(Ordering::Acquire) && state.store.ping().await;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ready })))
}

/// Operational metrics. Database counters may be up to `ASTRA_METRICS_REFRESH_SECS` old;
/// `billing` (money) is included only with the internal `X-Api-Key`.
#[utoipa::path(get, path = "/metrics", tag = "system",
    params(("X-Api-Key" = Option<String>, Header, description = "internal key: adds `billing`")),
    responses((status = 200, description = "uptime, connections, tools, skills, sessions, messages, cache; billing with the internal key")))]
async fn metrics(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<CountsCache>>,
    internal: Result<InternalKey, ApiError>,
) -> ApiResult<Json<Value>> {
    let now = Utc::now();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let counts = cache.get(&state, month_start).await?;
    let (hits, misses) = state.tool_cache.totals();
    let mut body = json!({
        "uptime": state.started_at.elapsed().as_secs(),
        "wsConnections": state.open_streams.load(Ordering::Relaxed),
        "tools": state.tools.list().len(),
        "skills": state.skills.list().len(),
        "sessions": { "active": counts.active_sessions, "total": counts.total_sessions },
        "messages": counts.messages,
        "cache": { "hits": hits, "misses": misses },
    });
    if internal.is_ok() {
        body["billing"] =
            json!({ "month": now.format("%Y-%m").to_string(), "totalCost": counts.month_cost });
    }
    Ok(Json(body))
}
