//! Extractors: JSON bodies, queries and paths with 400 `VALIDATION_ERROR` rejections, and the
//! auth classes of the seed (JWT, JWT + workspace, internal API key).

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::{api_keys, app::AppState, auth::AuthUser, error::ApiError, workspaces::Role};

/// A JSON body; bad content type, syntax or shape is a 400 with per-field `details`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::field("Content-Type", "expected application/json"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::field("body", e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub use crate::validate::{from_value, parse_json};

/// Query parameters; a bad one is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::field("query", e.body_text()))
    }
}

/// Path parameters; a bad one is a 400 naming it.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| ApiError::field("path", e.body_text()))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("Missing bearer token".into()))?;
        let user = if api_keys::is_api_key(token) {
            let user = api_keys::authenticate(&state.store, &state.tasks, token).await?;
            if let Some(grant) = &user.api_key {
                // The route template, so `/api-keys/{id}` is judged as a route, not a string.
                let path = parts
                    .extensions
                    .get::<MatchedPath>()
                    .map_or(parts.uri.path(), MatchedPath::as_str);
                api_keys::permits(grant.scopes, parts.method.as_str(), path)?;
            }
            user
        } else {
            state.auth.authenticate(&state.store, token).await?
        };
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

pub use crate::workspaces::WorkspaceMember;

impl WorkspaceMember {
    /// Resolves the workspace of a request (`X-Workspace-Id`, else the caller's oldest) and
    /// checks membership. An API key bound to a workspace acts there only: another
    /// `X-Workspace-Id` is refused with 403.
    pub async fn resolve(
        state: &AppState,
        headers: &axum::http::HeaderMap,
        user: AuthUser,
    ) -> Result<Self, ApiError> {
        let mut header = headers
            .get(WORKSPACE_HEADER)
            .map(|v| v.to_str().map(str::trim).unwrap_or_default().to_string());
        if let Some(bound) = user.api_key.as_ref().and_then(|k| k.workspace_id.clone()) {
            if header.as_ref().is_some_and(|h| *h != bound) {
                return Err(ApiError::Forbidden(
                    "This API key is bound to another workspace".into(),
                ));
            }
            header = Some(bound);
        }
        let (workspace_id, role) = match header {
            Some(id) if id.is_empty() || id.len() > 128 => {
                return Err(ApiError::field("X-Workspace-Id", "must be a workspace id"));
            }
            Some(id) => {
                let role = state
                    .store
                    .workspaces()
                    .member_role_cached(&id, &user.id)
                    .await?
                    .ok_or_else(|| {
                        ApiError::Forbidden("You are not a member of this workspace".into())
                    })?;
                (id, role)
            }
            // Without the header, the caller's oldest workspace is used, so single-workspace
            // users need not send it.
            None => state
                .store
                .workspaces()
                .first_workspace_of(&user.id)
                .await?
                .ok_or_else(|| {
                    ApiError::field(
                        "X-Workspace-Id",
                        "header required (create a workspace first, e.g. POST /onboarding/setup)",
                    )
                })?,
        };
        let role = Role::parse(&role).ok_or_else(|| anyhow::anyhow!("stored role {role:?}"))?;
        Ok(WorkspaceMember {
            user,
            workspace_id,
            role,
        })
    }
}

/// The `X-Workspace-Id` header name.
pub const WORKSPACE_HEADER: &str = "x-workspace-id";

impl FromRequestParts<AppState> for WorkspaceMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(member) = parts.extensions.get::<WorkspaceMember>() {
            return Ok(member.clone());
        }
        let user = AuthUser::from_request_parts(parts, state).await?;
        let member = WorkspaceMember::resolve(state, &parts.headers, user).await?;
        parts.extensions.insert(member.clone());
        Ok(member)
    }
}

/// Proof that the request carried the internal API key.
#[derive(Debug, Clone, Copy)]
pub struct InternalKey;

impl FromRequestParts<AppState> for InternalKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refused = || ApiError::Unauthorized("Invalid or missing X-Api-Key".into());
        let expected = state.config.internal_api_key.as_ref().ok_or_else(refused)?;
        let given = parts
            .headers
            .get("x-api-key")
            .map(|v| v.as_bytes())
            .ok_or_else(refused)?;
        if bool::from(given.ct_eq(expected.expose().as_bytes())) {
            Ok(InternalKey)
        } else {
            Err(refused())
        }
    }
}

/// `limit`/`offset` query parameters (limit 1–100, default 20).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

pub use crate::page::Page;

impl PageParams {
    /// Applies defaults and bounds (`max` is the largest allowed limit).
    pub fn resolve(self, max: i64) -> Result<Page, ApiError> {
        let limit = self.limit.unwrap_or(20.min(max));
        if limit < 1 || limit > max {
            return Err(ApiError::field("limit", format!("must be 1-{max}")));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::field("offset", "must be >= 0"));
        }
        Ok(Page { limit, offset })
    }
}

/// The list envelope `{items, total, limit, offset}`.
pub fn page_body(items: Vec<Value>, total: i64, page: Page) -> Value {
    let mut body = Map::new();
    body.insert("items".into(), Value::Array(items));
    body.insert("total".into(), total.into());
    body.insert("limit".into(), page.limit.into());
    body.insert("offset".into(), page.offset.into());
    Value::Object(body)
}
