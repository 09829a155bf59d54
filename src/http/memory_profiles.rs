//! Route group 13: `/memory-profiles…` — reusable memory settings and their assignment to
//! agents. Members and viewers read; owners and admins write.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    agents::{AgentEnv, MemoryProfileIn, profiles},
    app::AppState,
    error::ApiResult,
    store::MemoryProfileRow,
};

/// Routes of the memory-profiles group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_profile, list_profiles))
        .routes(routes!(get_profile, update_profile, delete_profile))
        .routes(routes!(get_assignment, put_assignment))
}

/// Which memory tiers a profile uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct TiersOut {
    /// Current-session messages.
    pub session: bool,
    /// Daily memory entries.
    pub daily: bool,
    /// The long-term user profile.
    pub profile: bool,
    /// Strategic notes.
    pub notes: bool,
}

/// A memory profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryProfileOut {
    /// `mp_…`
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Name, unique in the workspace.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tiers used.
    pub tiers_enabled: TiersOut,
    /// Expiry in days; `null` = never.
    pub ttl_days: Option<i64>,
    /// Most chunks in context.
    pub max_context_chunks: i64,
    /// Minimum normalised relevance (0–1).
    pub min_relevance_score: f64,
    /// Appended to the system prompt.
    pub system_prompt_suffix: String,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<MemoryProfileRow> for MemoryProfileOut {
    fn from(m: MemoryProfileRow) -> Self {
        Self {
            id: m.id,
            workspace_id: m.workspace_id,
            name: m.name,
            description: m.description,
            tiers_enabled: TiersOut {
                session: m.tier_session,
                daily: m.tier_daily,
                profile: m.tier_profile,
                notes: m.tier_notes,
            },
            ttl_days: m.ttl_days,
            max_context_chunks: m.max_context_chunks,
            min_relevance_score: m.min_relevance_score,
            system_prompt_suffix: m.system_prompt_suffix,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Create a memory profile (owner/admin); a taken name is 409.
#[utoipa::path(post, path = "/memory-profiles", tag = "memory-profiles",
    request_body = MemoryProfileIn, security(("bearer" = [])),
    responses((status = 201, body = MemoryProfileOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn create_profile(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<MemoryProfileIn>,
) -> ApiResult<(StatusCode, Json<MemoryProfileOut>)> {
    member.require_manager()?;
    let row = profiles::create(&state.store, &member.workspace_id, &member.user.id, body).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// List the workspace's memory profiles, oldest first.
#[utoipa::path(get, path = "/memory-profiles", tag = "memory-profiles", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<MemoryProfileOut>), (status = 400, body = ErrorOut)))]
async fn list_profiles(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<MemoryProfileOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = profiles::list(&state.store, &member.workspace_id, page).await?;
    let items = rows.into_iter().map(MemoryProfileOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Get a memory profile.
#[utoipa::path(get, path = "/memory-profiles/{id}", tag = "memory-profiles",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemoryProfileOut), (status = 404, body = ErrorOut)))]
async fn get_profile(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<MemoryProfileOut>> {
    let row = profiles::get(&state.store, &member.workspace_id, &id).await?;
    Ok(Json(row.into()))
}

/// Replace a memory profile (owner/admin); absent fields take their defaults.
#[utoipa::path(put, path = "/memory-profiles/{id}", tag = "memory-profiles",
    params(("id" = String, Path)), request_body = MemoryProfileIn, security(("bearer" = [])),
    responses((status = 200, body = MemoryProfileOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn update_profile(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MemoryProfileIn>,
) -> ApiResult<Json<MemoryProfileOut>> {
    member.require_manager()?;
    let row = profiles::update(&state.store, &member.workspace_id, &id, body).await?;
    Ok(Json(row.into()))
}

/// `?force=true` on delete.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Also clear the profile from the agents using it (default false: 409 instead).
    pub force: Option<bool>,
}

/// Delete a memory profile (owner/admin); 409 while assigned unless `?force=true`.
#[utoipa::path(delete, path = "/memory-profiles/{id}", tag = "memory-profiles",
    params(("id" = String, Path), DeleteParams), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn delete_profile(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DeleteParams>,
) -> ApiResult<StatusCode> {
    member.require_manager()?;
    let force = params.force.unwrap_or(false);
    profiles::delete(
        &state.store,
        &member.workspace_id,
        &member.user.id,
        &id,
        force,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An agent's memory-profile assignment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentOut {
    /// The agent.
    pub agent_id: String,
    /// The assigned profile's id, or `null`.
    pub profile_id: Option<String>,
    /// The assigned profile, or `null`.
    pub profile: Option<MemoryProfileOut>,
}

fn assignment_out(agent_id: String, profile: Option<MemoryProfileRow>) -> AssignmentOut {
    AssignmentOut {
        agent_id,
        profile_id: profile.as_ref().map(|p| p.id.clone()),
        profile: profile.map(Into::into),
    }
}

/// A profile to assign; `null` clears the assignment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignIn {
    /// `mp_…` or `null`.
    pub profile_id: Option<String>,
}

/// Get an agent's assigned memory profile.
#[utoipa::path(get, path = "/memory-profiles/agents/{agentId}/memory-profile", tag = "memory-profiles",
    params(("agentId" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = AssignmentOut), (status = 404, body = ErrorOut)))]
async fn get_assignment(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(agent_id): ApiPath<String>,
) -> ApiResult<Json<AssignmentOut>> {
    let profile =
        profiles::assignment(&AgentEnv::from(&state), &member.workspace_id, &agent_id).await?;
    Ok(Json(assignment_out(agent_id, profile)))
}

/// Assign a memory profile to an agent, or clear it with `null` (owner/admin); the agent
/// gets a new version when the assignment changes. Global agents cannot be assigned (403).
#[utoipa::path(put, path = "/memory-profiles/agents/{agentId}/memory-profile", tag = "memory-profiles",
    params(("agentId" = String, Path)), request_body = AssignIn, security(("bearer" = [])),
    responses((status = 200, body = AssignmentOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn put_assignment(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(agent_id): ApiPath<String>,
    ApiJson(body): ApiJson<AssignIn>,
) -> ApiResult<Json<AssignmentOut>> {
    member.require_manager()?;
    let profile = profiles::assign(
        &AgentEnv::from(&state),
        &member.workspace_id,
        &member.user.id,
        &agent_id,
        body.profile_id.as_deref(),
    )
    .await?;
    Ok(Json(assignment_out(agent_id, profile)))
}
