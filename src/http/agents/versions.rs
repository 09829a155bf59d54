//! `/agents/{id}/versions…`: history, one version, rollback and labels.

use axum::{Json, extract::State};

use super::dto::{AgentOut, LabelIn, VersionOut};
use crate::{
    agents::{AgentEnv, versions},
    app::AppState,
    error::ApiResult,
    http::{
        dto::Paged,
        error_schema::ErrorOut,
        extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
    },
};

/// List an agent's versions, newest first (without their configs).
#[utoipa::path(get, path = "/agents/{id}/versions", tag = "agents",
    params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<VersionOut>), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn list_versions(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<VersionOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) =
        versions::list(&AgentEnv::from(&state), &member.workspace_id, &id, page).await?;
    let items = rows
        .into_iter()
        .map(|v| VersionOut::new(v, false))
        .collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Get one version with its full configuration.
#[utoipa::path(get, path = "/agents/{id}/versions/{version}", tag = "agents",
    params(("id" = String, Path), ("version" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = VersionOut), (status = 404, body = ErrorOut)))]
pub(super) async fn get_version(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath((id, version)): ApiPath<(String, i64)>,
) -> ApiResult<Json<VersionOut>> {
    let v = versions::get(&AgentEnv::from(&state), &member.workspace_id, &id, version).await?;
    Ok(Json(VersionOut::new(v, true)))
}

/// Make a version live again (owner/admin); recorded as a new version.
#[utoipa::path(post, path = "/agents/{id}/versions/{version}/rollback", tag = "agents",
    params(("id" = String, Path), ("version" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = AgentOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn rollback(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath((id, version)): ApiPath<(String, i64)>,
) -> ApiResult<Json<AgentOut>> {
    member.require_manager()?;
    let view = versions::rollback(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &member.user.id,
        &id,
        version,
    )
    .await?;
    Ok(Json(view.into()))
}

/// Set or clear a version's label (owner/admin).
#[utoipa::path(patch, path = "/agents/{id}/versions/{version}", tag = "agents",
    params(("id" = String, Path), ("version" = i64, Path)), request_body = LabelIn,
    security(("bearer" = [])),
    responses((status = 200, body = VersionOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn label_version(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath((id, version)): ApiPath<(String, i64)>,
    ApiJson(body): ApiJson<LabelIn>,
) -> ApiResult<Json<VersionOut>> {
    member.require_manager()?;
    let v = versions::label(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &id,
        version,
        body.label.as_deref(),
    )
    .await?;
    Ok(Json(VersionOut::new(v, false)))
}
