//! `/workspaces/{id}/grants`: offering agents to other workspaces, and the receiving
//! workspace's consent (accept/decline). See `crate::workspaces::grants` for the rules.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::{
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    store::{GrantDirection, GrantRow},
    workspaces::{self, GrantAnswer, GrantStatus},
};

/// A grant of one agent to another workspace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantIn {
    /// The workspace receiving access.
    pub receiving_workspace_id: String,
    /// The agent granted.
    pub agent_id: String,
    /// Run-only access (default true).
    pub readonly: Option<bool>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Which grant to revoke (body or query).
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RevokeIn {
    /// The receiving workspace.
    pub receiving_workspace_id: Option<String>,
    /// The agent.
    pub agent_id: Option<String>,
}

/// A stored grant.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GrantOut {
    /// `grt_…`
    pub id: String,
    /// Granting workspace.
    pub workspace_id: String,
    /// Receiving workspace.
    pub receiving_workspace_id: String,
    /// Agent.
    pub agent_id: String,
    /// Run-only.
    pub readonly: bool,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Granted by.
    pub created_by: String,
    /// Granted at.
    pub created_at: DateTime<Utc>,
    /// `pending` (offered, no effect yet), `active` (accepted by the receiving workspace) or
    /// `declined`. Grants made before consent existed are `active`.
    pub status: String,
    /// Who of the receiving workspace accepted or declined it.
    pub responded_by: Option<String>,
    /// When it was accepted or declined.
    pub responded_at: Option<DateTime<Utc>>,
}

impl From<GrantRow> for GrantOut {
    fn from(g: GrantRow) -> Self {
        Self {
            id: g.id,
            workspace_id: g.workspace_id,
            receiving_workspace_id: g.receiving_workspace_id,
            agent_id: g.agent_id,
            readonly: g.readonly,
            expires_at: g.expires_at,
            created_by: g.created_by,
            created_at: g.created_at,
            status: g.status,
            responded_by: g.responded_by,
            responded_at: g.responded_at,
        }
    }
}

/// Offer one of this workspace's agents to another workspace (owner/admin). The grant is
/// `pending` — without effect — until an owner/admin of the receiving workspace accepts it.
/// Posting again changes the terms (200); a declined grant is offered again (`pending`).
#[utoipa::path(post, path = "/workspaces/{id}/grants", tag = "workspaces", params(("id" = String, Path)),
    request_body = GrantIn, security(("bearer" = [])),
    responses((status = 201, body = GrantOut), (status = 200, body = GrantOut), (status = 400, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn create_grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<GrantIn>,
) -> ApiResult<(StatusCode, Json<GrantOut>)> {
    workspaces::load_managed(&state.store, &id, &user.id).await?;
    let (grant, created) = workspaces::grant(
        &state.store,
        &id,
        &user.id,
        &body.receiving_workspace_id,
        &body.agent_id,
        body.readonly.unwrap_or(true),
        body.expires_at,
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(grant.into())))
}

/// Revoke a grant this workspace gave, whatever its status (owner/admin); keys in the JSON
/// body or the query.
#[utoipa::path(delete, path = "/workspaces/{id}/grants", tag = "workspaces",
    params(("id" = String, Path), RevokeIn), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn revoke_grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<RevokeIn>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    workspaces::load_managed(&state.store, &id, &user.id).await?;
    let from_body: RevokeIn = if body.is_empty() {
        RevokeIn {
            receiving_workspace_id: None,
            agent_id: None,
        }
    } else {
        super::super::extract::parse_json(&body)?
    };
    let receiving = from_body
        .receiving_workspace_id
        .or(query.receiving_workspace_id);
    let agent = from_body.agent_id.or(query.agent_id);
    let (Some(receiving), Some(agent)) = (receiving, agent) else {
        return Err(ApiError::field(
            "receivingWorkspaceId",
            "receivingWorkspaceId and agentId are required",
        ));
    };
    workspaces::grants::revoke(&state.store, &id, &user.id, &receiving, &agent).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?direction=&status=` for the grant list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantListParams {
    /// `outgoing` (default: grants this workspace gave) or `incoming` (grants offered to it).
    pub direction: Option<String>,
    /// Only grants in this status: `pending|active|declined` (default: all).
    pub status: Option<String>,
}

/// A workspace's grants.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantList {
    /// Oldest first.
    pub items: Vec<GrantOut>,
    /// Number of items.
    pub total: usize,
}

/// List this workspace's grants with their status (any member): the ones it gave
/// (`direction=outgoing`, the default) or the ones offered to it (`direction=incoming`,
/// where pending offers wait for an owner/admin).
#[utoipa::path(get, path = "/workspaces/{id}/grants", tag = "workspaces",
    params(("id" = String, Path), GrantListParams), security(("bearer" = [])),
    responses((status = 200, body = GrantList), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn list_grants(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<GrantListParams>,
) -> ApiResult<Json<GrantList>> {
    let direction = match params.direction.as_deref() {
        None | Some("outgoing") => GrantDirection::Outgoing,
        Some("incoming") => GrantDirection::Incoming,
        Some(_) => return Err(ApiError::field("direction", "must be outgoing or incoming")),
    };
    let status = params
        .status
        .as_deref()
        .map(|s| {
            GrantStatus::parse(s)
                .ok_or_else(|| ApiError::field("status", "must be pending, active or declined"))
        })
        .transpose()?;
    workspaces::load_for(&state.store, &id, &user.id).await?;
    let grants = workspaces::grants::list(&state.store, &id, direction, status).await?;
    let items: Vec<GrantOut> = grants.into_iter().map(Into::into).collect();
    Ok(Json(GrantList {
        total: items.len(),
        items,
    }))
}

/// Accept a grant offered to this workspace: `{id}` is the RECEIVING workspace and only its
/// owners/admins may answer. The agent then resolves in this workspace after its own agents
/// and the global ones.
#[utoipa::path(post, path = "/workspaces/{id}/grants/{grantId}/accept", tag = "workspaces",
    params(("id" = String, Path, description = "the receiving workspace"), ("grantId" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = GrantOut, description = "now active"),
        (status = 403, body = ErrorOut, description = "not an owner/admin of the receiving workspace"),
        (status = 404, body = ErrorOut, description = "no such grant offered to this workspace"),
        (status = 409, body = ErrorOut, description = "the grant is not pending (or has expired)")))]
pub(super) async fn accept_grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, grant_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<GrantOut>> {
    answer(&state, &user, &id, &grant_id, GrantAnswer::Accept).await
}

/// Decline a grant offered to this workspace (owners/admins of the receiving workspace `{id}`).
/// Declining an active grant withdraws consent; the granting workspace may offer it again.
#[utoipa::path(post, path = "/workspaces/{id}/grants/{grantId}/decline", tag = "workspaces",
    params(("id" = String, Path, description = "the receiving workspace"), ("grantId" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = GrantOut, description = "now declined"),
        (status = 403, body = ErrorOut, description = "not an owner/admin of the receiving workspace"),
        (status = 404, body = ErrorOut, description = "no such grant offered to this workspace"),
        (status = 409, body = ErrorOut, description = "the grant is already declined")))]
pub(super) async fn decline_grant(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, grant_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<GrantOut>> {
    answer(&state, &user, &id, &grant_id, GrantAnswer::Decline).await
}

async fn answer(
    state: &AppState,
    user: &AuthUser,
    receiving: &str,
    grant_id: &str,
    answer: GrantAnswer,
) -> ApiResult<Json<GrantOut>> {
    workspaces::load_managed(&state.store, receiving, &user.id).await?;
    let row =
        workspaces::grants::respond(&state.store, receiving, &user.id, grant_id, answer).await?;
    Ok(Json(row.into()))
}
