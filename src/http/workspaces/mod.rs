//! Route group 5: `/workspaces/*` — workspaces, members, grants, restrictions, stats.

mod dto;
mod grants;
mod members;

pub use dto::{
    AgentUsageOut, CreateWorkspaceIn, RestrictionsIn, StatsParams, TokenTotalsOut,
    UpdateSettingsIn, WorkspaceOut, WorkspaceStatsOut,
};

use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::ApiResult,
    workspaces::{self, Role},
};

/// Routes of the workspaces group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_workspace, list_workspaces))
        .routes(routes!(get_workspace))
        .routes(routes!(update_settings))
        .routes(routes!(members::add_member, members::list_members))
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

/// Create a workspace; the caller becomes its owner.
#[utoipa::path(post, path = "/workspaces", tag = "workspaces", request_body = CreateWorkspaceIn,
    security(("bearer" = [])), responses((status = 201, body = WorkspaceOut), (status = 400, body = ErrorOut)))]
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
    security(("bearer" = [])), responses((status = 200, body = Paged<WorkspaceOut>), (status = 400, body = ErrorOut)))]
async fn list_workspaces(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<WorkspaceOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = workspaces::list_for(&state.store, &user.id, page).await?;
    let items = rows
        .into_iter()
        .map(|(ws, role)| WorkspaceOut::new(ws, role, None))
        .collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Get a workspace and the caller's role.
#[utoipa::path(get, path = "/workspaces/{id}", tag = "workspaces", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = WorkspaceOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn get_workspace(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WorkspaceOut>> {
    let (ws, role) = workspaces::load_for(&state.store, &id, &user.id).await?;
    Ok(Json(WorkspaceOut::new(ws, None, Some(role))))
}

/// Update name, plan or settings (owner/admin).
#[utoipa::path(put, path = "/workspaces/{id}/settings", tag = "workspaces", params(("id" = String, Path)),
    request_body = UpdateSettingsIn, security(("bearer" = [])),
    responses((status = 200, body = WorkspaceOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut)))]
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

/// Usage dashboard over the last `days` days.
#[utoipa::path(get, path = "/workspaces/{id}/stats", tag = "workspaces",
    params(("id" = String, Path), StatsParams), security(("bearer" = [])),
    responses((status = 200, body = WorkspaceStatsOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn stats(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> ApiResult<Json<WorkspaceStatsOut>> {
    let usage = workspaces::usage(&state.store, &id, &user.id, params.days).await?;
    Ok(Json(WorkspaceStatsOut::new(usage)?))
}

/// Set allowed providers and models (owner/admin).
#[utoipa::path(put, path = "/workspaces/{id}/restrictions", tag = "workspaces", params(("id" = String, Path)),
    request_body = RestrictionsIn, security(("bearer" = [])),
    responses((status = 200, body = RestrictionsIn), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn set_restrictions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RestrictionsIn>,
) -> ApiResult<Json<RestrictionsIn>> {
    workspaces::set_restrictions(
        &state.store,
        &id,
        &user.id,
        body.allowed_providers.clone(),
        body.allowed_models.clone(),
    )
    .await?;
    Ok(Json(body))
}
