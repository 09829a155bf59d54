//! Route group 14: `POST /onboarding/setup` — first-run workspace with starter agents.

use axum::{Json, body::Bytes, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    agents::AgentOut, error_schema::ErrorOut, extract::parse_json, workspaces::WorkspaceOut,
};
use crate::{agents::onboarding, app::AppState, auth::AuthUser, error::ApiResult};

/// Routes of the onboarding group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(setup))
}

/// Optional setup parameters (the body may also be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetupIn {
    /// 1–100 characters (default `My Workspace`).
    pub workspace_name: Option<String>,
    /// Plan name (default `free`).
    pub plan: Option<String>,
}

/// The onboarding workspace and its agents.
#[derive(Debug, Serialize, ToSchema)]
pub struct SetupOut {
    /// The workspace, owned by the caller.
    pub workspace: WorkspaceOut,
    /// Its agents (the starters on first run).
    pub agents: Vec<AgentOut>,
}

/// Create the caller's first workspace with the starter agents (`chad`, `researcher`), in
/// one transaction: 201 the first time, then 200 with the same workspace.
#[utoipa::path(post, path = "/onboarding/setup", tag = "onboarding", request_body = SetupIn,
    security(("bearer" = [])),
    responses((status = 201, body = SetupOut), (status = 200, body = SetupOut), (status = 400, body = ErrorOut)))]
async fn setup(
    State(state): State<AppState>,
    user: AuthUser,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<SetupOut>)> {
    let input: SetupIn = if body.iter().all(u8::is_ascii_whitespace) {
        SetupIn::default()
    } else {
        parse_json(&body)?
    };
    let done = onboarding::setup(
        &state.store,
        &state.starter_agents,
        &user.id,
        input.workspace_name.as_deref(),
        input.plan.as_deref(),
    )
    .await?;
    let ws = done.workspace;
    let workspace = WorkspaceOut {
        id: ws.id,
        name: ws.name,
        owner_id: ws.owner_id,
        plan: ws.plan,
        settings: ws.settings.0,
        allowed_providers: ws.allowed_providers.map(|j| j.0),
        allowed_models: ws.allowed_models.map(|j| j.0),
        created_at: ws.created_at,
        updated_at: ws.updated_at,
        role: None,
        your_role: done.role,
    };
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let agents = done.agents.into_iter().map(Into::into).collect();
    Ok((status, Json(SetupOut { workspace, agents })))
}
