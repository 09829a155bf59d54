//! Route group 7: `/webhooks…` — endpoints receiving events, their delivery history and test
//! events. JWT; scoped to the caller, and to the `X-Workspace-Id` workspace when it is sent.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{
        ApiJson, ApiPath, ApiQuery, PageParams, WORKSPACE_HEADER, WorkspaceMember, page_body,
    },
    validate::Problems,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    net::{check_url, parse_outbound_url},
    store::{DeliveryRow, WebhookRow, ids::new_id},
    webhooks::{self, is_known_event},
};

/// Routes of the webhooks group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(test_webhook))
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookIn {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// Event names, or `*` for all.
    pub events: Vec<String>,
    /// Free text (up to 500 characters).
    pub description: Option<String>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookIn {
    /// New URL.
    pub url: Option<String>,
    /// New event list.
    pub events: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
    /// Inactive webhooks receive no events.
    pub active: Option<bool>,
}

/// A webhook. `secret` appears only in the answer to its creation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookOut {
    /// `wh_…`
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Receiving events.
    pub active: bool,
    /// Workspace it is limited to (`null` = all of the owner's).
    pub workspace_id: Option<String>,
    /// Signing secret (creation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl WebhookOut {
    fn new(w: WebhookRow, with_secret: bool) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events.0,
            description: w.description,
            active: w.active,
            workspace_id: w.workspace_id,
            secret: with_secret.then_some(w.secret),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// One delivery of one event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOut {
    /// `whd_…` (also sent as `X-Astra-Delivery`).
    pub id: String,
    /// Event name.
    pub event: String,
    /// `pending|sending|delivered|failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// HTTP status of the last attempt.
    pub response_status: Option<i64>,
    /// Problem of the last attempt.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Next attempt (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        let pending = d.status == "pending";
        Self {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            response_status: d.response_status,
            error: d.error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            next_attempt_at: pending.then_some(d.next_attempt_at),
        }
    }
}

/// The workspace named by `X-Workspace-Id` (membership checked), if the header was sent.
async fn header_workspace(
    state: &AppState,
    headers: &HeaderMap,
    user: &AuthUser,
) -> ApiResult<Option<String>> {
    if !headers.contains_key(WORKSPACE_HEADER) {
        return Ok(None);
    }
    let member = WorkspaceMember::resolve(state, headers, user.clone()).await?;
    Ok(Some(member.workspace_id))
}

fn check_fields(
    problems: &mut Problems,
    url: Option<&str>,
    events: Option<&[String]>,
    description: Option<&str>,
    allow_private: bool,
) {
    if let Some(url) = url
        && let Err(e) = parse_outbound_url(url).and_then(|u| check_url(&u, allow_private))
    {
        problems.add("url", e.to_string());
    }
    if let Some(events) = events {
        problems.check(
            events.is_empty() || events.len() > 20,
            "events",
            "must list 1-20 events",
        );
        if let Some(bad) = events.iter().find(|e| *e != "*" && !is_known_event(e)) {
            problems.add(
                "events",
                format!(
                    "unknown event {bad:?}; known: {}, or *",
                    webhooks::EVENTS.join(", ")
                ),
            );
        }
    }
    problems.check(
        description.is_some_and(|d| d.chars().count() > 500),
        "description",
        "must be at most 500 characters",
    );
}

fn dedup(events: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Register a webhook; the answer carries its signing `secret`, shown only here.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhookIn,
    params(("X-Workspace-Id" = Option<String>, Header, description = "limit the webhook to this workspace")),
    security(("bearer" = [])), responses((status = 201, body = WebhookOut), (status = 400), (status = 403)))]
async fn create_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateWebhookIn>,
) -> ApiResult<(StatusCode, Json<WebhookOut>)> {
    let workspace_id = header_workspace(&state, &headers, &user).await?;
    let mut problems = Problems::new();
    check_fields(
        &mut problems,
        Some(&body.url),
        Some(&body.events),
        body.description.as_deref(),
        state.config.allow_private_urls,
    );
    problems.finish()?;
    let now = Utc::now();
    let hook = WebhookRow {
        id: new_id("wh"),
        user_id: user.id,
        workspace_id,
        url: body.url.trim().to_string(),
        events: SqlJson(dedup(body.events)),
        description: body.description,
        secret: webhooks::new_secret(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    state.store.insert_webhook(&hook).await?;
    Ok((StatusCode::CREATED, Json(WebhookOut::new(hook, true))))
}

/// List the caller's webhooks (secrets omitted); with `X-Workspace-Id`, that workspace's.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageParams),
    security(("bearer" = [])), responses((status = 200, description = "{items: [Webhook], total, limit, offset}")))]
async fn list_webhooks(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let page = params.resolve(100)?;
    let workspace_id = header_workspace(&state, &headers, &user).await?;
    let (rows, total) = state
        .store
        .webhooks_of(&user.id, workspace_id.as_deref(), page.limit, page.offset)
        .await?;
    let items = rows
        .into_iter()
        .map(|w| serde_json::to_value(WebhookOut::new(w, false)).unwrap_or(Value::Null))
        .collect();
    Ok(Json(page_body(items, total, page)))
}

async fn load(state: &AppState, user: &AuthUser, id: &str) -> ApiResult<WebhookRow> {
    state
        .store
        .webhook(&user.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook"))
}

/// Get one webhook (secret omitted).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = WebhookOut), (status = 404)))]
async fn get_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(WebhookOut::new(
        load(&state, &user, &id).await?,
        false,
    )))
}

/// Change url, events, description or active.
#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = UpdateWebhookIn, security(("bearer" = [])),
    responses((status = 200, body = WebhookOut), (status = 400), (status = 404)))]
async fn update_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateWebhookIn>,
) -> ApiResult<Json<WebhookOut>> {
    let mut hook = load(&state, &user, &id).await?;
    let mut problems = Problems::new();
    check_fields(
        &mut problems,
        body.url.as_deref(),
        body.events.as_deref(),
        body.description.as_deref(),
        state.config.allow_private_urls,
    );
    problems.finish()?;
    if let Some(url) = body.url {
        hook.url = url.trim().to_string();
    }
    if let Some(events) = body.events {
        hook.events = SqlJson(dedup(events));
    }
    if let Some(d) = body.description {
        hook.description = Some(d);
    }
    if let Some(active) = body.active {
        hook.active = active;
    }
    hook.updated_at = Utc::now();
    if !state.store.update_webhook(&hook).await? {
        return Err(ApiError::not_found("Webhook"));
    }
    Ok(Json(WebhookOut::new(hook, false)))
}

/// Delete a webhook and its delivery history.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 204), (status = 404)))]
async fn delete_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    if state.store.delete_webhook(&user.id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("Webhook"))
    }
}

/// Recent deliveries of a webhook, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, description = "{items: [Delivery], total, limit, offset}"), (status = 404)))]
async fn list_deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let page = params.resolve(100)?;
    let hook = load(&state, &user, &id).await?;
    let (rows, total) = state
        .store
        .deliveries_of(&hook.id, page.limit, page.offset)
        .await?;
    let items = rows
        .into_iter()
        .map(|d| serde_json::to_value(DeliveryOut::from(d)).unwrap_or(Value::Null))
        .collect();
    Ok(Json(page_body(items, total, page)))
}

/// Queue a `webhook.test` event for this webhook; answers 202 with the delivery id.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 202, description = "{deliveryId, status: pending}"), (status = 404)))]
async fn test_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let hook = load(&state, &user, &id).await?;
    let delivery_id = webhooks::enqueue_test(&state, &hook).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "deliveryId": delivery_id, "event": "webhook.test", "status": "pending" })),
    ))
}
