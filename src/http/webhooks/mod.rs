//! Route group 7: `/webhooks…` — endpoints receiving events, their delivery history and test
//! events. JWT; scoped to the caller, and to the `X-Workspace-Id` workspace when it is sent.

mod dto;

pub use dto::{
    CreateWebhookIn, DeliveryOut, RotatedSecretOut, TestDeliveryOut, UpdateWebhookIn, WebhookOut,
};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WORKSPACE_HEADER, WorkspaceMember},
    validate::Problems,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::ApiResult,
    net::{check_url, parse_outbound_url},
    webhooks::{
        self,
        endpoints::{self, NewWebhook, WebhookChanges},
        is_known_event,
    },
};

/// Routes of the webhooks group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(test_webhook))
        .routes(routes!(rotate_secret))
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

/// Register a webhook; the answer carries its signing `secret`, shown only here.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhookIn,
    params(("X-Workspace-Id" = Option<String>, Header, description = "limit the webhook to this workspace")),
    security(("bearer" = [])),
    responses((status = 201, body = WebhookOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
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
    let hook = NewWebhook {
        url: body.url,
        events: body.events,
        description: body.description,
    };
    let row = endpoints::create(&state.store, &user.id, workspace_id, hook).await?;
    Ok((StatusCode::CREATED, Json(WebhookOut::new(row, true))))
}

/// List the caller's webhooks (secrets omitted); with `X-Workspace-Id`, that workspace's.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<WebhookOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_webhooks(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<WebhookOut>>> {
    let page = params.resolve(100)?;
    let workspace_id = header_workspace(&state, &headers, &user).await?;
    let (rows, total) =
        endpoints::list(&state.store, &user.id, workspace_id.as_deref(), page).await?;
    let items = rows
        .into_iter()
        .map(|w| WebhookOut::new(w, false))
        .collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Get one webhook (secret omitted).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = WebhookOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn get_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<WebhookOut>> {
    let row = endpoints::get(&state.store, &user.id, &id).await?;
    Ok(Json(WebhookOut::new(row, false)))
}

/// Change url, events, description or active.
#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = UpdateWebhookIn, security(("bearer" = [])),
    responses((status = 200, body = WebhookOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn update_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateWebhookIn>,
) -> ApiResult<Json<WebhookOut>> {
    // An unknown webhook is a 404 even when the body is also invalid.
    endpoints::get(&state.store, &user.id, &id).await?;
    let mut problems = Problems::new();
    check_fields(
        &mut problems,
        body.url.as_deref(),
        body.events.as_deref(),
        body.description.as_deref(),
        state.config.allow_private_urls,
    );
    problems.finish()?;
    let changes = WebhookChanges {
        url: body.url,
        events: body.events,
        description: body.description,
        active: body.active,
    };
    let row = endpoints::update(&state.store, &user.id, &id, changes).await?;
    Ok(Json(WebhookOut::new(row, false)))
}

/// Delete a webhook and its delivery history.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn delete_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    endpoints::delete(&state.store, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recent deliveries of a webhook, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = Paged<DeliveryOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn list_deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<DeliveryOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = endpoints::deliveries(&state.store, &user.id, &id, page).await?;
    let items = rows.into_iter().map(DeliveryOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Queue a `webhook.test` event for this webhook; answers 202 with the delivery id.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 202, body = TestDeliveryOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn test_webhook(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<TestDeliveryOut>)> {
    let delivery_id = endpoints::send_test(&state.store, &user.id, &id).await?;
    let out = TestDeliveryOut {
        delivery_id,
        event: "webhook.test".into(),
        status: "pending".into(),
    };
    Ok((StatusCode::ACCEPTED, Json(out)))
}

/// Give the webhook a new signing secret, shown only in this answer. For the overlap window
/// (24 h by default) deliveries carry signatures of both the new and the old secret.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = RotatedSecretOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn rotate_secret(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RotatedSecretOut>> {
    let secret = endpoints::rotate_secret(&state.store, &user.id, &id).await?;
    Ok(Json(RotatedSecretOut { secret }))
}
