//! Health, readiness, metrics: the public system routes.

use std::sync::atomic::Ordering;

use axum::{Json, extract::State, http::StatusCode};
use chrono::{Datelike, TimeZone, Utc};
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{app::AppState, error::ApiResult};

/// Routes of the system group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(readiness))
        .routes(routes!(metrics))
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

/// Operational metrics.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "uptime, connections, tools, skills, sessions, messages, billing, cache")))]
async fn metrics(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let now = Utc::now();
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let counts = state.store.global_counts(month_start).await?;
    let (hits, misses) = state.tool_cache.totals();
    Ok(Json(json!({
        "uptime": state.started_at.elapsed().as_secs(),
        "wsConnections": state.open_streams.load(Ordering::Relaxed),
        "tools": state.tools.list().len(),
        "skills": state.skills.list().len(),
        "sessions": { "active": counts.active_sessions, "total": counts.total_sessions },
        "messages": counts.messages,
        "billing": { "month": now.format("%Y-%m").to_string(), "totalCost": counts.month_cost },
        "cache": { "hits": hits, "misses": misses },
    })))
}
