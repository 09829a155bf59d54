//! Health, readiness, metrics: the public system routes.
//!
//! `/metrics` is public and cheap: its database counters are computed at most once per
//! `ASTRA_METRICS_REFRESH_SECS` (one refresh at a time, others reuse the last figures), so a
//! flood of calls cannot turn into a flood of `COUNT(*)` scans. Money figures are shown only
//! with the internal `X-Api-Key`.

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use axum::{Extension, Json, extract::State, http::StatusCode};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{error_schema::ErrorOut, extract::InternalKey};
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
        let counts = state.store.stats().global_counts(month_start).await?;
        *last = Some((Instant::now(), month_start, counts.clone()));
        Ok(counts)
    }
}

/// `GET /health`: the same shape with 200 and 503.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemHealthOut {
    /// `ok` or `degraded`.
    pub status: String,
    /// Each check by name (the database engine) and whether it passed.
    pub checks: BTreeMap<String, bool>,
    /// Open WebSocket connections (`/ws`).
    pub ws_connections: i64,
    /// When this was read (RFC 3339, milliseconds).
    pub timestamp: String,
}

/// `GET /readiness`: the same shape with 200 and 503.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessOut {
    /// Migrations have run and the database answers.
    pub ready: bool,
    /// Only on a 503 (a 200 stays exactly `{"ready": true}`): `down` when the database is
    /// unreachable or has no free connection within the acquire timeout, `up` when it answers
    /// but start-up has not finished (or shutdown has begun).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Session counters of `/metrics`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCountsOut {
    /// Active sessions.
    pub active: i64,
    /// All sessions.
    pub total: i64,
}

/// Tool result cache counters of `/metrics` (all workspaces).
#[derive(Debug, Serialize, ToSchema)]
pub struct CacheCountsOut {
    /// Cache hits.
    pub hits: u64,
    /// Cache misses.
    pub misses: u64,
}

/// Money figures of `/metrics` (internal key only).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingOut {
    /// `YYYY-MM`.
    pub month: String,
    /// Cost since the start of the month, USD.
    pub total_cost: f64,
}

/// `GET /metrics`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsOut {
    /// Seconds since start-up.
    pub uptime: u64,
    /// Open WebSocket connections (`/ws`).
    pub ws_connections: i64,
    /// Registered tools.
    pub tools: usize,
    /// Registered skills.
    pub skills: usize,
    /// Session counters.
    pub sessions: SessionCountsOut,
    /// All messages.
    pub messages: i64,
    /// Tool result cache.
    pub cache: CacheCountsOut,
    /// Present only with the internal `X-Api-Key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing: Option<BillingOut>,
}

/// Deep health check: a database round trip; 503 if any check fails.
#[utoipa::path(get, path = "/health", tag = "system",
    responses((status = 200, body = SystemHealthOut, description = "all checks pass"),
        (status = 503, body = SystemHealthOut, description = "a check failed")))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<SystemHealthOut>) {
    let database = state.store.ping().await;
    let ok = database;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = SystemHealthOut {
        status: if ok { "ok" } else { "degraded" }.into(),
        checks: BTreeMap::from([(state.store.engine().to_string(), database)]),
        ws_connections: state.ws_connections.load(Ordering::Relaxed),
        timestamp: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    (status, Json(body))
}

/// Readiness probe: 503 until migrations have run or while the database is unreachable.
#[utoipa::path(get, path = "/readiness", tag = "system",
    responses((status = 200, body = ReadinessOut, description = "ready"),
        (status = 503, body = ReadinessOut, description = "not ready")))]
async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<ReadinessOut>) {
    let database = state.store.ping().await;
    let ready = state.ready.load(Ordering::Acquire) && database;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let database = (!ready).then(|| if database { "up" } else { "down" }.to_string());
    (status, Json(ReadinessOut { ready, database }))
}

/// Operational metrics. Database counters may be up to `ASTRA_METRICS_REFRESH_SECS` old;
/// `billing` (money) is included only with the internal `X-Api-Key`.
#[utoipa::path(get, path = "/metrics", tag = "system",
    params(("X-Api-Key" = Option<String>, Header, description = "internal key: adds `billing`")),
    responses((status = 200, body = MetricsOut), (status = 503, body = ErrorOut)))]
async fn metrics(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<CountsCache>>,
    internal: Result<InternalKey, ApiError>,
) -> ApiResult<Json<MetricsOut>> {
    let now = Utc::now();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let counts = cache.get(&state, month_start).await?;
    let (hits, misses) = state.tool_cache.totals().await;
    Ok(Json(MetricsOut {
        uptime: state.started_at.elapsed().as_secs(),
        ws_connections: state.ws_connections.load(Ordering::Relaxed),
        tools: state.tools.list().len(),
        skills: state.skills.list().len(),
        sessions: SessionCountsOut {
            active: counts.active_sessions,
            total: counts.total_sessions,
        },
        messages: counts.messages,
        cache: CacheCountsOut { hits, misses },
        billing: internal.is_ok().then(|| BillingOut {
            month: now.format("%Y-%m").to_string(),
            total_cost: counts.month_cost,
        }),
    }))
}
