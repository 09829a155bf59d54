//! Route group 5: `/workspaces/*` — workspaces, members, grants, restrictions, stats.

mod grants;
mod members;

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::{ApiJson, ApiPath, ApiQuery, PageParams, page_body};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    store::WorkspaceRow,
    workspaces::{self, Role},
};

/// Routes of the workspaces group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace, list_workspaces))
        .routes(routes!(get_workspace))
        .routes(routes!(update_settings))
        .routes(routes!(members::add_member))
        .routes(routes!(members::remove_member))
        .routes(routes!(stats))
        .routes(routes!(
            grants::create_grant,
            grants::revoke_grant,
            grants::list_grants
        ))
        .routes(routes!(grants::accept_grant))
        .routes(routes!(grants::decline_grant))
        .routes(routes!(set_restrictions))
}

/// New workspace.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWorkspaceIn {
    /// 1–100 characters.
    pub name: String,
    /// Plan name (default `free`).
    pub plan: Option<String>,
}

/// A workspace as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceOut {
    /// `ws_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Creator.
    pub owner_id: String,
    /// Plan.
    pub plan: String,
    /// Settings object.
    pub settings: Value,
    /// Allowed providers (`null` = any).
    pub allowed_providers: Option<Vec<String>>,
    /// Allowed models (`null` = any).
    pub allowed_models: Option<Vec<String>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The caller's role (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The caller's role (in detail views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_role: Option<String>,
}

impl WorkspaceOut {
    fn new(ws: WorkspaceRow, role: Option<Role>, your_role: Option<Role>) -> Self {
        Self {
            id: ws.id,
            name: ws.name,
            owner_id: ws.owner_id,
            plan: ws.plan,
            settings: ws.settings.0,
            allowed_providers: ws.allowed_providers.map(|j| j.0),
            allowed_models: ws.allowed_models.map(|j| j.0),
            created_at: ws.created_at,
            updated_at: ws.updated_at,
            role: role.map(|r| r.as_str().to_string()),
            your_role: your_role.map(|r| r.as_str().to_string()),
        }
    }
}

/// Create a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/workspaces", tag = "workspaces", request_body = CreateWorkspaceIn,
    security(("bearer" = [])), responses((status = 201, body = WorkspaceOut), (status = 400)))]
async fn create_workspace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateWorkspaceIn>,
) -> ApiResult<(StatusCode, Json<WorkspaceOut>)> {
    let ws = workspaces::create(&state.store, &user.id, &body.name, body.plan.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkspaceOut::new(ws, Some(Role::Owner), Some(Role::Owner))),
    ))
}

/// List the caller's workspaces with their role.
#[utoipa::path(get, path = "/workspaces", tag = "workspaces", params(PageParams),
    security(("bearer" = [])), responses((status = 200, description = "{items, total, limit, offset}")))]
async fn list_workspaces(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let page = params.resolve(100)?;
    let (rows, total) = state
        .store
        .workspaces_of(&user.id, page.limit, page.offset)
        .await?;
    let items = rows
        .into_iter()
        .map(|(ws, role)| {
            let out = WorkspaceOut::new(ws, Role::parse(&role), None);
            serde_json::to_value(out).unwrap_or(Value::Null)
        })
        .collect();
    Ok(Json(page_body(items, total, page)))
}

/// Get a workspace and the caller's role.
#[utoipa::path(get, path = "/workspaces/{id}", tag = "workspaces", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = WorkspaceOut), (status = 403), (status = 404)))]
async fn get_workspace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkspaceOut>> {
    let (ws, role) = workspaces::load_for(&state.store, &id, &user.id).await?;
    Ok(Json(WorkspaceOut::new(ws, None, Some(role))))
}

/// Settings update: any of name, plan and settings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateSettingsIn {
    /// New name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<String>,
    /// Keys to set (shallow merge; `null` removes a key).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
}

/// Update name, plan or settings (owner/admin).
#[utoipa::path(put, path = "/workspaces/{id}/settings", tag = "workspaces", params(("id" = String, Path)),
    request_body = UpdateSettingsIn, security(("bearer" = [])),
    responses((status = 200, body = WorkspaceOut), (status = 400), (status = 403)))]
async fn update_settings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateSettingsIn>,
) -> ApiResult<Json<WorkspaceOut>> {
    let (ws, role) = workspaces::load_managed(&state.store, &id, &user.id).await?;
    let ws = workspaces::update_settings(
        &state.store,
        ws,
        body.name.as_deref(),
        body.plan.as_deref(),
        body.settings.as_ref(),
    )
    .await?;
    Ok(Json(WorkspaceOut::new(ws, None, Some(role))))
}

/// `?days=` for stats.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// 1–365 (default 30).
    pub days: Option<i64>,
}

/// Usage dashboard over the last `days` days.
#[utoipa::path(get, path = "/workspaces/{id}/stats", tag = "workspaces",
    params(("id" = String, Path), StatsParams), security(("bearer" = [])),
    responses((status = 200, description = "usage totals"), (status = 403)))]
async fn stats(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> ApiResult<Json<Value>> {
    let days = params.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::field("days", "must be 1-365"));
    }
    workspaces::load_for(&state.store, &id, &user.id).await?;
    let since = Utc::now() - chrono::Duration::days(days);
    let stats = state.store.workspace_stats(&id, since).await?;
    Ok(Json(serde_json::json!({
        "workspaceId": id,
        "days": days,
        "since": since,
        "members": stats.members,
        "sessions": stats.sessions,
        "messages": stats.messages,
        "tokens": {
            "prompt": stats.prompt_tokens,
            "completion": stats.completion_tokens,
            "total": stats.prompt_tokens + stats.completion_tokens,
        },
        "costUsd": stats.cost_usd,
        "byAgent": stats.by_agent,
    })))
}

/// Allowed providers and models (`null` = any).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestrictionsIn {
    /// Provider ids agents may use.
    pub allowed_providers: Option<Vec<String>>,
    /// Model ids agents may use.
    pub allowed_models: Option<Vec<String>>,
}

/// Set allowed providers and models (owner/admin).
#[utoipa::path(put, path = "/workspaces/{id}/restrictions", tag = "workspaces", params(("id" = String, Path)),
    request_body = RestrictionsIn, security(("bearer" = [])),
    responses((status = 200, body = RestrictionsIn), (status = 400), (status = 403)))]
async fn set_restrictions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestrictionsIn>,
) -> ApiResult<Json<RestrictionsIn>> {
    let (mut ws, _) = workspaces::load_managed(&state.store, &id, &user.id).await?;
    workspaces::check_restrictions(
        body.allowed_providers.as_deref(),
        body.allowed_models.as_deref(),
    )?;
    ws.allowed_providers = body.allowed_providers.clone().map(sqlx::types::Json);
    ws.allowed_models = body.allowed_models.clone().map(sqlx::types::Json);
    ws.updated_at = Utc::now();
    state.store.update_workspace(&ws).await?;
    state
        .store
        .audit(
            &user.id,
            Some(&id),
            "workspace.restrictions",
            Some(&id),
            serde_json::to_value(&body).unwrap_or_default(),
        )
        .await?;
    Ok(Json(body))
}
