//! Route group 4: `/agents…` — workspace agents merged with the global ones, with versions.
//! Members and viewers read; owners and admins write.

pub mod cache;
mod dto;
mod versions;

pub use dto::{AgentOut, CapabilitiesOut, CapabilityOut, LabelIn, VersionOut};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    agents::{AgentConfigIn, AgentEnv, service},
    app::AppState,
    error::ApiResult,
};

/// Routes of the agents group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent, list_agents))
        .routes(routes!(get_agent, update_agent, delete_agent))
        .routes(routes!(capabilities))
        .routes(routes!(versions::list_versions))
        .routes(routes!(versions::get_version, versions::label_version))
        .routes(routes!(versions::rollback))
}

/// Create an agent in the workspace (owner/admin); it may shadow a global agent.
#[utoipa::path(post, path = "/agents", tag = "agents", request_body = AgentConfigIn,
    security(("bearer" = [])),
    responses((status = 201, body = AgentOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn create_agent(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<AgentConfigIn>,
) -> ApiResult<(StatusCode, Json<AgentOut>)> {
    member.require_manager()?;
    let view = service::create(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &member.user.id,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// List the workspace's agents and the global agents they do not shadow, by id
/// (`ETag`, `Cache-Control: private, max-age=30`).
#[utoipa::path(get, path = "/agents", tag = "agents", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<AgentOut>), (status = 304), (status = 400, body = ErrorOut)))]
async fn list_agents(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<PageParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let page = params.resolve(100)?;
    let all = service::list(&AgentEnv::from(&state), &member.workspace_id).await?;
    let total = all.len() as i64;
    let items = all
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .map(AgentOut::from)
        .collect();
    let body = Paged::new(items, total, page);
    cache::cached_json(&headers, &body, cache::PRIVATE_30S)
}

/// Get an agent (the workspace's own, else a global one) with `ETag`.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = AgentOut), (status = 304), (status = 404, body = ErrorOut)))]
async fn get_agent(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let view = service::get(&AgentEnv::from(&state), &member.workspace_id, &id).await?;
    cache::cached_json(&headers, &AgentOut::from(view), cache::PRIVATE_30S)
}

/// Replace an agent's configuration (owner/admin); the new config is recorded as a version.
#[utoipa::path(put, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)),
    request_body = AgentConfigIn, security(("bearer" = [])),
    responses((status = 200, body = AgentOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn update_agent(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AgentConfigIn>,
) -> ApiResult<Json<AgentOut>> {
    member.require_manager()?;
    let view = service::update(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &member.user.id,
        &id,
        body,
    )
    .await?;
    Ok(Json(view.into()))
}

/// Delete an agent and its history (owner/admin).
#[utoipa::path(delete, path = "/agents/{id}", tag = "agents", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_agent(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    member.require_manager()?;
    service::delete(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &member.user.id,
        &id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The agent's effective tool list after skill expansion (allow ∪ skill tools − deny), each
/// tool with its description, JSON schema and the skill that brought it.
#[utoipa::path(get, path = "/agents/{id}/capabilities", tag = "agents", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CapabilitiesOut), (status = 404, body = ErrorOut)))]
async fn capabilities(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CapabilitiesOut>> {
    let (view, tools) =
        service::capabilities(&AgentEnv::from(&state), &member.workspace_id, &id).await?;
    let config = view.config;
    Ok(Json(CapabilitiesOut {
        agent_id: config.id.as_str().to_string(),
        skills: config.skills,
        allow: config.tools.allow,
        deny: config.tools.deny,
        tools: tools.into_iter().map(Into::into).collect(),
    }))
}
