//! Route group 17: `/diagnostics*` — full and quick diagnostic runs, their history, and the
//! inference providers' circuit breakers. Internal API key.

use axum::{Json, extract::State};
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::InternalKey;
use crate::{
    app::AppState,
    diagnostics::{self, Report},
    error::ApiResult,
};

/// Routes of the diagnostics group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(full))
        .routes(routes!(quick))
        .routes(routes!(history))
        .routes(routes!(circuit_breakers))
}

/// Stored runs listed by `/diagnostics/history`.
const HISTORY: i64 = 10;

/// Full diagnostic run (stored): database, migrations, providers and breakers, tools, data
/// directory, recent error rate.
#[utoipa::path(get, path = "/diagnostics", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, description = "{id, status, ok, createdAt, durationMs, checks: [{name, ok, latencyMs, detail}]}"),
              (status = 401)))]
async fn full(State(state): State<AppState>, _key: InternalKey) -> ApiResult<Json<Report>> {
    Ok(Json(diagnostics::full(&state).await?))
}

/// Connectivity checks only (database, providers' breakers); not stored.
#[utoipa::path(get, path = "/diagnostics/quick", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, description = "{status, ok, checks}"), (status = 401)))]
async fn quick(State(state): State<AppState>, _key: InternalKey) -> Json<Report> {
    Json(diagnostics::quick(&state).await)
}

/// The last 10 full runs, newest first.
#[utoipa::path(get, path = "/diagnostics/history", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, description = "{items: [run]}"), (status = 401)))]
async fn history(State(state): State<AppState>, _key: InternalKey) -> ApiResult<Json<Value>> {
    let items = diagnostics::history(&state, HISTORY).await?;
    Ok(Json(json!({ "items": items })))
}

/// Circuit-breaker state of every provider called since start-up.
#[utoipa::path(get, path = "/diagnostics/circuit-breakers", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, description = "{breakers: [{provider, state, failures, openedAt, transitions}], config}"), (status = 401)))]
async fn circuit_breakers(State(state): State<AppState>, _key: InternalKey) -> Json<Value> {
    let cfg = state.providers.config().circuit_breaker;
    Json(json!({
        "breakers": state.providers.breakers().snapshot(),
        "config": {
            "failureThreshold": cfg.failure_threshold,
            "windowSeconds": cfg.window.as_secs(),
            "openSeconds": cfg.open_for.as_secs(),
            "halfOpenSuccesses": cfg.half_open_successes,
        },
    }))
}
