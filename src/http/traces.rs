//! Route group 11: `/traces*` — the agent turns of a workspace, as summaries and in full
//! (inference calls with their attempts, tool calls, breaker states, compaction), or with
//! `?format=otlp` as OpenTelemetry spans (OTLP/JSON).

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    app::AppState,
    error::{ApiError, ApiResult},
    store::TraceRow,
    traces::{self, otlp::ExportTraceServiceRequest},
};

/// Routes of the traces group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_traces))
        .routes(routes!(get_trace))
}

/// A trace summary; the detail view adds `detail`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceOut {
    /// `trc_…`
    pub id: String,
    /// The user whose turn it was.
    pub user_id: String,
    /// Agent.
    pub agent_id: String,
    /// Session.
    pub session_id: Option<String>,
    /// `X-Request-ID` of the call.
    pub request_id: Option<String>,
    /// `ok|error|cancelled|timeout`.
    pub status: String,
    /// Error message when not ok.
    pub error: Option<String>,
    /// Prompt tokens over all inference calls.
    pub prompt_tokens: i64,
    /// Completion tokens over all inference calls.
    pub completion_tokens: i64,
    /// Their sum.
    pub total_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Wall time.
    pub duration_ms: i64,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
    /// `{inference, failedAttempts, tools, breakers, compaction, toolsUsed, replica}` as
    /// recorded by the turn (detail only; `replica` is the id of the process that ran it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub detail: Option<Value>,
}

impl From<TraceRow> for TraceOut {
    fn from(t: TraceRow) -> Self {
        Self {
            id: t.id,
            user_id: t.user_id,
            agent_id: t.agent_id,
            session_id: t.session_id,
            request_id: t.request_id,
            status: t.status,
            error: t.error,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            total_tokens: t.prompt_tokens + t.completion_tokens,
            cost_usd: t.cost_usd,
            duration_ms: t.duration_ms,
            started_at: t.started_at,
            finished_at: t.finished_at,
            detail: t.detail.map(|d| d.0),
        }
    }
}

/// `GET /traces` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    /// Only this agent's turns.
    pub agent_id: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
}

/// The workspace's traces, newest first.
#[utoipa::path(get, path = "/traces", tag = "traces", params(ListParams, ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<TraceOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_traces(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<TraceOut>>> {
    let agent_id = params.agent_id.as_deref();
    if agent_id.is_some_and(|a| a.is_empty() || a.len() > 64) {
        return Err(ApiError::field("agentId", "must be 1-64 characters"));
    }
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .resolve(100)?;
    let (rows, total) = traces::list(&state.store, &member.workspace_id, agent_id, page).await?;
    let items = rows.into_iter().map(TraceOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// `GET /traces/:id` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetParams {
    /// `otlp` for the turn as OTLP/JSON spans (an `ExportTraceServiceRequest`); absent for
    /// Astra's own shape. Anything else is 400.
    pub format: Option<String>,
}

/// A trace in Astra's shape, or as OTLP/JSON with `?format=otlp`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TraceDetailOut {
    /// The default (boxed: it is much larger than the other variant).
    Trace(Box<TraceOut>),
    /// `?format=otlp`: `resourceSpans → scopeSpans → spans`, the turn as root span, its
    /// inference calls (and their attempts) and tool calls below, with GenAI semantic
    /// convention attributes.
    Otlp(ExportTraceServiceRequest),
}

/// One trace in full; traces of other workspaces are not found. `?format=otlp` answers the
/// same turn as OTLP/JSON spans, exactly what the OTLP exporter sends for it.
#[utoipa::path(get, path = "/traces/{id}", tag = "traces",
    params(("id" = String, Path), GetParams, ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = TraceDetailOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn get_trace(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<GetParams>,
) -> ApiResult<Json<TraceDetailOut>> {
    let body = match params.format.as_deref() {
        None => {
            let trace = traces::get(&state.store, &member.workspace_id, &id).await?;
            TraceDetailOut::Trace(Box::new(trace.into()))
        }
        Some("otlp") => {
            TraceDetailOut::Otlp(traces::get_otlp(&state.store, &member.workspace_id, &id).await?)
        }
        Some(_) => return Err(ApiError::field("format", "must be otlp (or absent)")),
    };
    Ok(Json(body))
}
