//! Route group 9: `/heartbeat…` — scheduled RSS and HTTP monitors of a workspace with their
//! run history. Members and up write; viewers read.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    app::AppState,
    error::ApiResult,
    heartbeat::{NewMonitor, monitors},
    store::{MonitorRow, RunRow},
};

/// Routes of the heartbeat group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_monitors, create_monitor))
        .routes(routes!(set_enabled, delete_monitor))
        .routes(routes!(list_runs))
}

/// A new monitor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateMonitorIn {
    /// 1–100 characters.
    pub name: String,
    /// `rss` or `http`.
    #[serde(rename = "type")]
    pub monitor_type: String,
    /// Feed or endpoint URL.
    pub url: String,
    /// Minutes between runs, 5–10080 (5 minutes to 1 week).
    pub interval_minutes: i64,
    /// Default true.
    pub enabled: Option<bool>,
    /// Options: `timeoutMs` (1–60000, default 10000).
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
}

/// Enable or disable a monitor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMonitorIn {
    /// New state.
    pub enabled: bool,
}

/// A monitor with the status of its latest run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorOut {
    /// `hb_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// `rss|http`.
    #[serde(rename = "type")]
    pub monitor_type: String,
    /// What is checked.
    pub url: String,
    /// Minutes between runs.
    pub interval_minutes: i64,
    /// Scheduled.
    pub enabled: bool,
    /// Options.
    #[schema(value_type = Object)]
    pub config: Value,
    /// `ok|error` of the latest run (`null` before the first).
    pub last_status: Option<String>,
    /// Start of the latest run.
    pub last_run_at: Option<DateTime<Utc>>,
    /// When the next run is due.
    pub next_run_at: DateTime<Utc>,
    /// Workspace.
    pub workspace_id: String,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<MonitorRow> for MonitorOut {
    fn from(m: MonitorRow) -> Self {
        Self {
            id: m.id,
            name: m.name,
            monitor_type: m.monitor_type,
            url: m.url,
            interval_minutes: m.interval_minutes,
            enabled: m.enabled,
            config: m.config.0,
            last_status: m.last_status,
            last_run_at: m.last_run_at,
            next_run_at: m.next_run_at,
            workspace_id: m.workspace_id,
            created_by: m.user_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One run of a monitor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunOut {
    /// `hbr_…`
    pub id: String,
    /// `ok|error`.
    pub status: String,
    /// Wall time of the check.
    pub latency_ms: i64,
    /// `httpStatus`; RSS `itemCount`, `newItems`, `items`; or `error`.
    #[schema(value_type = Object)]
    pub detail: Value,
    /// Start.
    pub started_at: DateTime<Utc>,
}

impl From<RunRow> for RunOut {
    fn from(r: RunRow) -> Self {
        Self {
            id: r.id,
            status: r.status,
            latency_ms: r.latency_ms,
            detail: r.detail.0,
            started_at: r.started_at,
        }
    }
}

/// List the workspace's monitors with their latest status.
#[utoipa::path(get, path = "/heartbeat", tag = "heartbeat", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<MonitorOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_monitors(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<MonitorOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = monitors::list(&state.store, &member.workspace_id, page).await?;
    let items = rows.into_iter().map(MonitorOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Create a monitor; its first run is due at once.
#[utoipa::path(post, path = "/heartbeat", tag = "heartbeat", request_body = CreateMonitorIn,
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 201, body = MonitorOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn create_monitor(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<CreateMonitorIn>,
) -> ApiResult<(StatusCode, Json<MonitorOut>)> {
    let monitor = NewMonitor {
        name: body.name,
        monitor_type: body.monitor_type,
        url: body.url,
        interval_minutes: body.interval_minutes,
        enabled: body.enabled,
        config: body.config,
    };
    let allow_private = state.config.allow_private_urls;
    let (ws, uid) = (&member.workspace_id, &member.user.id);
    let row = monitors::create(&state.store, ws, uid, member.role, monitor, allow_private).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Enable or disable a monitor; enabling makes it due at once.
#[utoipa::path(patch, path = "/heartbeat/{id}", tag = "heartbeat", params(("id" = String, Path)),
    request_body = PatchMonitorIn, security(("bearer" = [])),
    responses((status = 200, body = MonitorOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn set_enabled(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PatchMonitorIn>,
) -> ApiResult<Json<MonitorOut>> {
    let ws = &member.workspace_id;
    let row = monitors::set_enabled(&state.store, ws, member.role, &id, body.enabled).await?;
    Ok(Json(row.into()))
}

/// Delete a monitor and its runs.
#[utoipa::path(delete, path = "/heartbeat/{id}", tag = "heartbeat", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_monitor(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    monitors::delete(&state.store, &member.workspace_id, member.role, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Run history of a monitor, newest first.
#[utoipa::path(get, path = "/heartbeat/{id}/runs", tag = "heartbeat",
    params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<RunOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn list_runs(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<RunOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = monitors::runs(&state.store, &member.workspace_id, &id, page).await?;
    let items = rows.into_iter().map(RunOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}
