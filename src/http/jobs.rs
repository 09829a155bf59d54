//! Route group 12: `/jobs…` — the background job queue of a workspace. Members see the
//! workspace's jobs; members and up enqueue; the creator or a manager cancels.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    app::AppState,
    error::ApiResult,
    jobs::{NewJob, masked_payload, queue},
    store::JobRow,
};

/// Routes of the jobs group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job, cancel_job))
}

/// A job to enqueue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJobIn {
    /// `http_request` `{method, url, headers?, body?}`, `agent_run` `{agentId, message}`,
    /// `webhook_emit` `{event, data}` or `noop`.
    #[serde(rename = "type")]
    pub job_type: String,
    /// Type-specific input (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    /// Retries after a failed attempt, 0–10 (default 3).
    pub max_retries: Option<i64>,
    /// Time limit of one attempt, 1–3600 (default 300).
    pub timeout_seconds: Option<i64>,
    /// Run no earlier than this (RFC 3339; default now).
    pub run_at: Option<DateTime<Utc>>,
}

/// A job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobOut {
    /// `job_…`
    pub id: String,
    /// Job type.
    #[serde(rename = "type")]
    pub job_type: String,
    /// Input; header values (`payload.headers`) are shown as `***`, whoever reads.
    #[schema(value_type = Object)]
    pub payload: Value,
    /// `pending|running|completed|failed|cancelled`.
    pub status: String,
    /// Retries allowed.
    pub max_retries: i64,
    /// Time limit of one attempt.
    pub timeout_seconds: i64,
    /// Attempts started.
    pub attempts: i64,
    /// When it (or its next retry) is due.
    pub run_at: DateTime<Utc>,
    /// Output of a completed job.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Problem of the last failed attempt.
    pub error: Option<String>,
    /// Creator.
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Start of the latest attempt.
    pub started_at: Option<DateTime<Utc>>,
    /// End of the job.
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<JobRow> for JobOut {
    fn from(j: JobRow) -> Self {
        Self {
            id: j.id,
            job_type: j.job_type,
            // Every read path (create, list, get, cancel) goes through here.
            payload: masked_payload(j.payload.0),
            status: j.status,
            max_retries: j.max_retries,
            timeout_seconds: j.timeout_seconds,
            attempts: j.attempts,
            run_at: j.run_at,
            result: j.result.map(|r| r.0),
            error: j.error,
            user_id: j.user_id,
            workspace_id: j.workspace_id,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// Enqueue a job (viewers may not).
#[utoipa::path(post, path = "/jobs", tag = "jobs", request_body = CreateJobIn,
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 201, body = JobOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn create_job(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<CreateJobIn>,
) -> ApiResult<(StatusCode, Json<JobOut>)> {
    let job = NewJob {
        job_type: body.job_type,
        payload: body.payload.unwrap_or_else(|| Value::Object(Map::new())),
        max_retries: body.max_retries,
        timeout_seconds: body.timeout_seconds,
        run_at: body.run_at,
    };
    let (ws, uid) = (&member.workspace_id, &member.user.id);
    let allow_private = state.config.allow_private_urls;
    let row = queue::enqueue(&state.store, ws, uid, member.role, job, allow_private).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Filters of the job list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// `pending|running|completed|failed|cancelled`.
    pub status: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

/// List the workspace's jobs, newest first.
#[utoipa::path(get, path = "/jobs", tag = "jobs", params(JobListParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<JobOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_jobs(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<JobListParams>,
) -> ApiResult<Json<Paged<JobOut>>> {
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .resolve(100)?;
    let status = params.status.as_deref();
    let (rows, total) = queue::list(&state.store, &member.workspace_id, status, page).await?;
    let items = rows.into_iter().map(JobOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Get a job with its result or error.
#[utoipa::path(get, path = "/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = JobOut), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn get_job(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobOut>> {
    let job = queue::get(&state.store, &member.workspace_id, &id).await?;
    Ok(Json(job.into()))
}

/// Cancel a pending job (its creator or a manager); 409 when it is running or finished.
#[utoipa::path(delete, path = "/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = JobOut), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut),
        (status = 409, body = ErrorOut)))]
async fn cancel_job(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<JobOut>> {
    let (ws, uid) = (&member.workspace_id, &member.user.id);
    Ok(Json(
        queue::cancel(&state.store, ws, uid, member.role, &id)
            .await?
            .into(),
    ))
}
