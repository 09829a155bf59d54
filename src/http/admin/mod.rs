//! Route group 16: `/admin/*` — operational visibility: process health, every agent, a user's
//! monthly billing, active sessions and audit trail. Internal API key.

mod dto;

pub use dto::{
    AdminHealthOut, AuditEntryOut, ClusterHealthOut, DatabaseHealthOut, MonthUsageOut,
    ProcessMemoryOut, UserAuditOut, UserSessionsOut, UserUsageOut,
};

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    agents::AgentOut,
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiPath, ApiQuery, InternalKey, PageParams},
};
use crate::{
    admin::{self, HealthEnv},
    app::AppState,
    error::ApiResult,
};

/// Routes of the admin group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(agents))
        .routes(routes!(usage))
        .routes(routes!(sessions))
        .routes(routes!(audit))
}

/// Months of billing history `/admin/usage/:uid` reports.
const USAGE_MONTHS: i64 = 24;
/// Audit entries `/admin/audit/:uid` returns.
const AUDIT_ENTRIES: i64 = 50;

/// Process memory, uptime, active sessions, busy agents, tools and skills, database.
#[utoipa::path(get, path = "/admin/health", tag = "admin", security(("apiKey" = [])),
    responses((status = 200, body = AdminHealthOut), (status = 401, body = ErrorOut)))]
async fn health(State(state): State<AppState>, _key: InternalKey) -> Json<AdminHealthOut> {
    Json(admin::health(&HealthEnv::from(&state)).await.into())
}

/// Every agent: the global ones (from `astra.yml`) first, then each workspace's.
#[utoipa::path(get, path = "/admin/agents", tag = "admin", params(PageParams), security(("apiKey" = [])),
    responses((status = 200, body = Paged<AgentOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut)))]
async fn agents(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<AgentOut>>> {
    let page = params.resolve(100)?;
    let (views, total) = admin::agents(&state.store, &state.global_agents, page).await?;
    let items = views.into_iter().map(AgentOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// A user's monthly billing, current month first: tokens counted against the monthly
/// budget, and tokens, requests and cost from the usage records.
#[utoipa::path(get, path = "/admin/usage/{uid}", tag = "admin", params(("uid" = String, Path)),
    security(("apiKey" = [])),
    responses((status = 200, body = UserUsageOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn usage(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
) -> ApiResult<Json<UserUsageOut>> {
    let (user, months) = admin::usage(&state.store, &uid, USAGE_MONTHS).await?;
    let budget = state.config.limits.user_tokens_per_month;
    Ok(Json(UserUsageOut {
        uid: user.id,
        email: user.email,
        monthly_token_budget: (budget > 0).then_some(budget),
        months: months.into_iter().map(MonthUsageOut::from).collect(),
    }))
}

/// A user's active sessions, newest activity first.
#[utoipa::path(get, path = "/admin/sessions/{uid}", tag = "admin", params(("uid" = String, Path), PageParams),
    security(("apiKey" = [])),
    responses((status = 200, body = UserSessionsOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn sessions(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<UserSessionsOut>> {
    let page = params.resolve(100)?;
    let (user, rows, total) = admin::active_sessions(&state.store, &uid, page).await?;
    Ok(Json(UserSessionsOut::new(user.id, rows, total, page)))
}

/// A user's last 50 audit entries, newest first.
#[utoipa::path(get, path = "/admin/audit/{uid}", tag = "admin", params(("uid" = String, Path)),
    security(("apiKey" = [])),
    responses((status = 200, body = UserAuditOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn audit(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
) -> ApiResult<Json<UserAuditOut>> {
    let (user, entries) = admin::audit(&state.store, &uid, AUDIT_ENTRIES).await?;
    Ok(Json(UserAuditOut {
        uid: user.id,
        items: entries.into_iter().map(AuditEntryOut::from).collect(),
    }))
}
