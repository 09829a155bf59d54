//! `/workspaces/{id}/members`: list, add, re-role and remove members. Every change is decided and
//! written in one transaction and takes effect on the caller's next request.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams},
};
use crate::{app::AppState, auth::AuthUser, error::ApiResult, store::MemberRow, workspaces};

/// A member to add (by email or uid) with a role.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberIn {
    /// The user's email.
    pub email: Option<String>,
    /// Or the user's id.
    pub uid: Option<String>,
    /// `owner|admin|member|viewer` (default `member`).
    pub role: Option<String>,
}

/// A workspace member.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberOut {
    /// Workspace.
    pub workspace_id: String,
    /// User id.
    pub user_id: String,
    /// User email.
    pub email: String,
    /// Role.
    pub role: String,
    /// Joined at.
    pub created_at: DateTime<Utc>,
}

impl From<MemberRow> for MemberOut {
    fn from(m: MemberRow) -> Self {
        Self {
            workspace_id: m.workspace_id,
            user_id: m.user_id,
            email: m.email,
            role: m.role,
            created_at: m.created_at,
        }
    }
}

/// The workspace's members with their role, oldest first (any member).
#[utoipa::path(get, path = "/workspaces/{id}/members", tag = "workspaces", params(("id" = String, Path), PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<MemberOut>), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
pub(super) async fn list_members(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<MemberOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = workspaces::list_members(&state.store, &id, &user.id, page).await?;
    let items = rows.into_iter().map(MemberOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Invite a member or change their role (owner/admin).
#[utoipa::path(post, path = "/workspaces/{id}/members", tag = "workspaces", params(("id" = String, Path)),
    request_body = AddMemberIn, security(("bearer" = [])),
    responses((status = 201, body = MemberOut), (status = 200, body = MemberOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut),
              (status = 409, body = ErrorOut, description = "the change would leave the workspace without an owner (`CONFLICT`)")))]
pub(super) async fn add_member(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AddMemberIn>,
) -> ApiResult<(StatusCode, Json<MemberOut>)> {
    let (_, role) = workspaces::load_managed(&state.store, &id, &user.id).await?;
    let (member, created) = workspaces::put_member(
        &state.store,
        &id,
        &user.id,
        role,
        body.email.as_deref(),
        body.uid.as_deref(),
        body.role.as_deref().unwrap_or("member"),
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(member.into())))
}

/// Remove a member (owner/admin, or yourself).
#[utoipa::path(delete, path = "/workspaces/{id}/members/{uid}", tag = "workspaces",
    params(("id" = String, Path), ("uid" = String, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
pub(super) async fn remove_member(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, uid)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    workspaces::load_for(&state.store, &id, &user.id).await?;
    workspaces::remove_member(&state.store, &id, &user.id, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}
