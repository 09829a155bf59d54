//! `/api-keys` — the caller's long-lived API keys: create (the only answer that shows a key),
//! list (metadata only) and revoke. API keys themselves may list keys but never change them
//! (`api_keys::permits`).

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams},
};
use crate::{
    api_keys::{self, NewApiKey, Scopes},
    app::AppState,
    auth::AuthUser,
    error::ApiResult,
    store::ApiKeyRow,
};

/// Routes of the API keys group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyIn {
    /// 1–100 characters.
    pub name: String,
    /// Binds the key to this workspace (you must belong to it); omitted = any of yours.
    pub workspace_id: Option<String>,
    /// When the key stops working; omitted = never.
    pub expires_at: Option<DateTime<Utc>>,
    /// `chat` (run agents) and/or `read` (GET routes); omitted = both.
    pub scopes: Option<Vec<String>>,
}

/// What can be read back about a key (never the key).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyOut {
    /// `key_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    /// The workspace the key is bound to, if any.
    pub workspace_id: Option<String>,
    /// `chat`, `read`.
    pub scopes: Vec<String>,
    /// When the key was made.
    pub created_at: DateTime<Utc>,
    /// When the key stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (recorded at most about once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRow> for ApiKeyOut {
    fn from(r: ApiKeyRow) -> Self {
        Self {
            scopes: Scopes::from_stored(&r.scopes).names(),
            id: r.id,
            name: r.name,
            prefix: r.prefix,
            workspace_id: r.workspace_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

/// A new key with the key itself, shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyOut {
    /// The key's metadata.
    #[serde(flatten)]
    pub meta: ApiKeyOut,
    /// `ak_…`: send it as `Authorization: Bearer ak_…`. It cannot be shown again.
    pub key: String,
}

/// Create an API key and show it, once.
#[utoipa::path(post, path = "/api-keys", tag = "auth", request_body = CreateApiKeyIn,
    security(("bearer" = [])),
    responses((status = 201, body = CreatedApiKeyOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn create_key(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<CreateApiKeyIn>,
) -> ApiResult<(StatusCode, Json<CreatedApiKeyOut>)> {
    let input = NewApiKey {
        name: body.name,
        workspace_id: body.workspace_id,
        expires_at: body.expires_at,
        scopes: body.scopes,
    };
    let (row, key) = api_keys::create(&state.store, &user.id, input).await?;
    let meta = ApiKeyOut::from(row);
    Ok((StatusCode::CREATED, Json(CreatedApiKeyOut { meta, key })))
}

/// List your API keys, newest first (metadata only).
#[utoipa::path(get, path = "/api-keys", tag = "auth", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<ApiKeyOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_keys(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<ApiKeyOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = api_keys::list(&state.store, &user.id, page).await?;
    let items = rows.into_iter().map(ApiKeyOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Revoke one of your API keys; it is refused from the next request on.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "auth", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn revoke_key(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    api_keys::revoke(&state.store, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
