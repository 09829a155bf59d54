//! `/users/me/reply-deliveries` — the deliveries of the caller's `webhookUrl` chat replies
//! (status, attempts, next retry), the same shape as a webhook's deliveries plus where the
//! reply goes. A reply is listed from its 202 on (`running` until the turn is recorded); its
//! id is the `deliveryId` of the 202 that accepted the turn. JWT; only the caller's own replies.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiPath, ApiQuery, PageParams},
    webhooks::DeliveryOut,
};
use crate::{
    app::AppState, auth::AuthUser, chat::reply_webhook, error::ApiResult, store::ReplyDeliveryRow,
};

/// Routes of the reply deliveries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reply_deliveries))
        .routes(routes!(get_reply_delivery))
}

/// One `webhookUrl` reply: a webhook delivery's fields plus its session and target.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplyDeliveryOut {
    /// Id (the `deliveryId` of the 202 and the `webhook-id` of every attempt), event,
    /// status (`running` while the turn runs, then `pending|sending|delivered|failed`),
    /// attempts, last outcome, next retry.
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    /// Session of the turn.
    pub session_id: String,
    /// Workspace of the turn.
    pub workspace_id: String,
    /// The `webhookUrl`.
    pub url: String,
}

impl From<ReplyDeliveryRow> for ReplyDeliveryOut {
    fn from(d: ReplyDeliveryRow) -> Self {
        let pending = d.status == "pending";
        Self {
            delivery: DeliveryOut {
                id: d.id,
                event: d.event,
                status: d.status,
                attempts: d.attempts,
                response_status: d.response_status,
                error: d.error,
                created_at: d.created_at,
                delivered_at: d.delivered_at,
                next_attempt_at: pending.then_some(d.next_attempt_at),
            },
            session_id: d.session_id,
            workspace_id: d.workspace_id,
            url: d.url,
        }
    }
}

/// Your `webhookUrl` reply deliveries, newest first.
#[utoipa::path(get, path = "/users/me/reply-deliveries", tag = "agent", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<ReplyDeliveryOut>), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut)))]
async fn list_reply_deliveries(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<ReplyDeliveryOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = reply_webhook::deliveries(&state.store, &user.id, page).await?;
    let items = rows.into_iter().map(ReplyDeliveryOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// One of your `webhookUrl` reply deliveries, by the `deliveryId` of the 202; 404 until the
/// turn is recorded.
#[utoipa::path(get, path = "/users/me/reply-deliveries/{id}", tag = "agent",
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReplyDeliveryOut), (status = 401, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn get_reply_delivery(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ReplyDeliveryOut>> {
    let row = reply_webhook::delivery_of(&state.store, &user.id, &id).await?;
    Ok(Json(row.into()))
}
