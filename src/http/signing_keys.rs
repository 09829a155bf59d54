//! `/users/me/webhook-secret` — the caller's key for `webhookUrl` chat replies: rotate it (the
//! only answer that shows it) or read when it was made.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error_schema::ErrorOut;
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::reply_webhook,
    error::{ApiError, ApiResult},
};

/// Routes of the reply-signing key.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(rotate_secret, secret_info))
}

/// A freshly made key, shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretOut {
    /// `whsec_…`: verify the `webhook-signature` (Standard Webhooks) of your `webhookUrl`
    /// replies with it; the legacy `X-Astra-Signature` uses the same key.
    pub secret: String,
    /// When the key was made.
    pub created_at: DateTime<Utc>,
}

/// What can be read back about the key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretInfo {
    /// When the key in force was made.
    pub created_at: DateTime<Utc>,
}

/// Make a new key for your `webhookUrl` replies (the old one stops signing at once) and show
/// it, once.
#[utoipa::path(post, path = "/users/me/webhook-secret", tag = "agent", security(("bearer" = [])),
    responses((status = 201, body = WebhookSecretOut), (status = 401, body = ErrorOut)))]
async fn rotate_secret(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<(StatusCode, Json<WebhookSecretOut>)> {
    let key = reply_webhook::rotate_signing_key(&state.store, &user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookSecretOut {
            secret: key.secret,
            created_at: key.created_at,
        }),
    ))
}

/// When your `webhookUrl` reply key was made; 404 while you have none (one is made on the
/// first `webhookUrl` reply, or by the POST).
#[utoipa::path(get, path = "/users/me/webhook-secret", tag = "agent", security(("bearer" = [])),
    responses((status = 200, body = WebhookSecretInfo), (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn secret_info(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<WebhookSecretInfo>> {
    let key = state
        .store
        .signing_keys()
        .signing_key(&user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook secret"))?;
    Ok(Json(WebhookSecretInfo {
        created_at: key.created_at,
    }))
}
