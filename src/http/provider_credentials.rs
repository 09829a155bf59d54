//! `/workspaces/{id}/provider-credentials` — a workspace's own provider keys, for agents whose
//! `model.endpoint` the operator did not allow. Owners and admins create and delete; every
//! member (viewers included) lists metadata. The key is write-only: no route returns it.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    credentials::{self, CredentialIn},
    error::ApiResult,
    store::ProviderCredentialRow,
    workspaces,
};

/// Routes of the provider-credentials group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_credential, list_credentials))
        .routes(routes!(delete_credential))
}

/// A credential's metadata (the key itself is never returned).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialOut {
    /// `pcr_…`
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Name, unique in the workspace.
    pub name: String,
    /// Provider id.
    pub provider: String,
    /// Base URL used when an agent names no endpoint (`null` = the provider's configured one).
    pub base_url: Option<String>,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<ProviderCredentialRow> for CredentialOut {
    fn from(r: ProviderCredentialRow) -> Self {
        Self {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            provider: r.provider,
            base_url: r.base_url,
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

/// Store a provider key for this workspace (owner/admin). The key is encrypted at rest and
/// never returned; agents use it through `model.credentialId`.
#[utoipa::path(post, path = "/workspaces/{id}/provider-credentials", tag = "workspaces",
    params(("id" = String, Path)), request_body = CredentialIn, security(("bearer" = [])),
    responses((status = 201, body = CredentialOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn create_credential(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<CredentialIn>,
) -> ApiResult<(StatusCode, Json<CredentialOut>)> {
    workspaces::load_managed(&state.store, &id, &user.id).await?;
    let row = credentials::create(
        &state.store,
        &state.cipher,
        &state.providers,
        &id,
        &user.id,
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// List the workspace's provider credentials (metadata only; any member).
#[utoipa::path(get, path = "/workspaces/{id}/provider-credentials", tag = "workspaces",
    params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<CredentialOut>), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn list_credentials(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<CredentialOut>>> {
    let page = params.resolve(100)?;
    workspaces::load_for(&state.store, &id, &user.id).await?;
    let (rows, total) = credentials::list(&state.store, &id, page.limit, page.offset).await?;
    let items = rows.into_iter().map(CredentialOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Delete a provider credential (owner/admin). Agents naming it fail their turns with 409
/// until they are changed.
#[utoipa::path(delete, path = "/workspaces/{id}/provider-credentials/{credentialId}",
    tag = "workspaces", params(("id" = String, Path), ("credentialId" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_credential(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath((id, credential_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    workspaces::load_managed(&state.store, &id, &user.id).await?;
    credentials::delete(&state.store, &id, &user.id, &credential_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
