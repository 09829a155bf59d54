//! Route group 17: `/diagnostics*` — full and quick diagnostic runs, their history, and the
//! inference providers' circuit breakers. Internal API key.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{error_schema::ErrorOut, extract::InternalKey};
use crate::{
    app::AppState,
    diagnostics::{self, Check, DiagnosticsEnv, Report},
    error::ApiResult,
    providers::{BreakerSnapshot, BreakerTransition},
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

/// One check's outcome.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticCheckOut {
    /// `database`, `migrations`, `provider:<id>`, `tools`, `dataDir`, `errorRate`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Time the check took, in milliseconds.
    pub latency_ms: f64,
    /// What the check saw; its fields depend on the check.
    #[schema(value_type = Object)]
    pub detail: Value,
}

impl From<Check> for DiagnosticCheckOut {
    fn from(c: Check) -> Self {
        Self {
            name: c.name,
            ok: c.ok,
            latency_ms: c.latency_ms,
            detail: c.detail,
        }
    }
}

/// A diagnostic run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticReportOut {
    /// `diag_…` (stored full runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `ok` or `degraded`.
    pub status: String,
    /// Every check passed.
    pub ok: bool,
    /// Start of the run.
    pub created_at: DateTime<Utc>,
    /// Wall time of the run.
    pub duration_ms: i64,
    /// The checks, in order.
    pub checks: Vec<DiagnosticCheckOut>,
}

impl From<Report> for DiagnosticReportOut {
    fn from(r: Report) -> Self {
        Self {
            id: r.id,
            status: r.status.into(),
            ok: r.ok,
            created_at: r.created_at,
            duration_ms: r.duration_ms,
            checks: r.checks.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /diagnostics/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticHistoryOut {
    /// Stored runs, newest first.
    pub items: Vec<DiagnosticReportOut>,
}

/// One state change of a breaker.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakerTransitionOut {
    /// State before: `closed|open|half_open`.
    pub from: String,
    /// State after.
    pub to: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

impl From<BreakerTransition> for BreakerTransitionOut {
    fn from(t: BreakerTransition) -> Self {
        Self {
            from: t.from.as_str().into(),
            to: t.to.as_str().into(),
            at: t.at,
        }
    }
}

/// A provider's circuit breaker.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakerOut {
    /// Provider id.
    pub provider: String,
    /// `closed`, `open` or `half_open`.
    pub state: String,
    /// Failures inside the current window (closed state only).
    pub failures: u32,
    /// Successes counted while half-open.
    pub half_open_successes: u32,
    /// When it last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When its state last changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// Recent transitions, oldest first.
    pub transitions: Vec<BreakerTransitionOut>,
}

impl From<BreakerSnapshot> for BreakerOut {
    fn from(b: BreakerSnapshot) -> Self {
        Self {
            provider: b.provider,
            state: b.state.into(),
            failures: b.failures,
            half_open_successes: b.half_open_successes,
            opened_at: b.opened_at,
            last_transition_at: b.last_transition_at,
            transitions: b.transitions.into_iter().map(Into::into).collect(),
        }
    }
}

/// The breakers' settings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakerConfigOut {
    /// Failures inside the window that open a breaker.
    pub failure_threshold: u32,
    /// Length of the failure window.
    pub window_seconds: u64,
    /// How long a breaker stays open.
    pub open_seconds: u64,
    /// Successes while half-open that close it again.
    pub half_open_successes: u32,
}

/// `GET /diagnostics/circuit-breakers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BreakersOut {
    /// Every provider called since start-up, by id.
    pub breakers: Vec<BreakerOut>,
    /// Settings.
    pub config: BreakerConfigOut,
}

/// Full diagnostic run (stored): database, migrations, providers and breakers, tools, data
/// directory, recent error rate.
#[utoipa::path(get, path = "/diagnostics", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, body = DiagnosticReportOut), (status = 401, body = ErrorOut)))]
async fn full(
    State(state): State<AppState>,
    _key: InternalKey,
) -> ApiResult<Json<DiagnosticReportOut>> {
    Ok(Json(
        diagnostics::full(&DiagnosticsEnv::from(&state))
            .await?
            .into(),
    ))
}

/// Connectivity checks only (database, providers' breakers); not stored.
#[utoipa::path(get, path = "/diagnostics/quick", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, body = DiagnosticReportOut), (status = 401, body = ErrorOut)))]
async fn quick(State(state): State<AppState>, _key: InternalKey) -> Json<DiagnosticReportOut> {
    Json(
        diagnostics::quick(&DiagnosticsEnv::from(&state))
            .await
            .into(),
    )
}

/// The last 10 full runs, newest first.
#[utoipa::path(get, path = "/diagnostics/history", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, body = DiagnosticHistoryOut), (status = 401, body = ErrorOut)))]
async fn history(
    State(state): State<AppState>,
    _key: InternalKey,
) -> ApiResult<Json<DiagnosticHistoryOut>> {
    let runs = diagnostics::history(&state.store, HISTORY).await?;
    Ok(Json(DiagnosticHistoryOut {
        items: runs.into_iter().map(Into::into).collect(),
    }))
}

/// Circuit-breaker state of every provider called since start-up.
#[utoipa::path(get, path = "/diagnostics/circuit-breakers", tag = "diagnostics", security(("apiKey" = [])),
    responses((status = 200, body = BreakersOut), (status = 401, body = ErrorOut)))]
async fn circuit_breakers(State(state): State<AppState>, _key: InternalKey) -> Json<BreakersOut> {
    let cfg = state.providers.config().circuit_breaker;
    // Breakers another replica opened (shared through Redis) show here too.
    let ids: Vec<String> = state
        .providers
        .config()
        .configured_providers()
        .into_iter()
        .map(str::to_string)
        .collect();
    state.providers.breakers().pull_shared_providers(&ids).await;
    Json(BreakersOut {
        breakers: state
            .providers
            .breakers()
            .snapshot()
            .into_iter()
            .map(Into::into)
            .collect(),
        config: BreakerConfigOut {
            failure_threshold: cfg.failure_threshold,
            window_seconds: cfg.window.as_secs(),
            open_seconds: cfg.open_for.as_secs(),
            half_open_successes: cfg.half_open_successes,
        },
    })
}
