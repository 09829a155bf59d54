//! `webhookUrl` chat replies as outbox deliveries. The delivery id (`whd_…`) is made when the
//! turn is planned ([`ReplyTo`], answered in the 202 as `deliveryId`). The reply row is written
//! twice: as a `running` placeholder ([`awaiting_turn`]) in the same transaction as the user
//! message, before the 202 — its body already the error a lost turn answers — and with the
//! real reply ([`delivery`]) in the transaction that records the turn. So an accepted turn is
//! answered at least once whatever happens to the process: a placeholder whose turn never got
//! recorded (the process died) becomes due at its deadline and is sent as that error
//! (`store::ReplyDeliveries::release_interrupted`, run by the delivery worker). The webhook delivery
//! worker ([`crate::webhooks::worker`]) sends it: signed with the caller's own key (read at
//! send time, so a rotation in between applies; Standard Webhooks headers plus the legacy
//! `X-Astra-Signature`), `webhook-id` = the delivery id on every attempt, through the outbound
//! URL guard, retried with the webhooks' backoff and attempt limit.
//!
//! The key and the signature live in [`crate::webhooks::signing`] (re-exported here).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{events::ChatEvent, plan::TurnPlan};
pub use crate::webhooks::signing::{rotate_signing_key, sign, signature_headers, signing_key};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{ReplyDeliveryRow, Store, ids::new_id},
};

/// The event name of every reply, a success or a failed turn alike (the body tells which:
/// the reply, or an error body with `code` and `message`).
pub const REPLY_EVENT: &str = "chat.completed";

/// Where a turn's reply goes, fixed when the turn is planned.
#[derive(Debug, Clone)]
pub struct ReplyTo {
    /// `whd_…`: answered in the 202 and sent as `webhook-id` on every attempt.
    pub delivery_id: String,
    /// The caller's `webhookUrl` (checked by the outbound guard when accepted and again at
    /// every send).
    pub url: reqwest::Url,
}

impl ReplyTo {
    /// A reply to `url` under a new delivery id.
    pub fn new(url: reqwest::Url) -> Self {
        Self {
            delivery_id: new_id("whd"),
            url,
        }
    }
}

/// The JSON a reply delivery carries: what the synchronous `/agent/chat` would have answered —
/// the reply (`content`, `sessionId`, `toolsUsed`, `usage`) for `done`, the error body for
/// `error`.
pub fn reply_body(event: &ChatEvent) -> Value {
    match event {
        ChatEvent::Done(reply) => serde_json::to_value(reply).unwrap_or_default(),
        ChatEvent::Error(failure) => failure.body.clone(),
        _ => Value::Null,
    }
}

/// The status of a reply whose turn is still running: never claimed by a sender.
pub const AWAITING_TURN: &str = "running";

/// The body a reply carries when its turn was lost (the process died before recording it).
pub fn interrupted_body() -> Value {
    ApiError::Unavailable(
        "The turn was interrupted (the gateway stopped) before it finished; nothing was billed. \
         Send the message again."
            .into(),
    )
    .body()
}

/// The placeholder of a turn's reply, written with the user message before the 202: status
/// [`AWAITING_TURN`], due at `deadline` (past which the turn cannot still be running), its
/// body the [`interrupted_body`] sent if the turn is never recorded.
pub fn awaiting_turn(
    to: &ReplyTo,
    owner: (&str, &str),
    session_id: &str,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> ReplyDeliveryRow {
    let (user_id, workspace_id) = owner;
    ReplyDeliveryRow {
        id: to.delivery_id.clone(),
        user_id: user_id.to_string(),
        workspace_id: workspace_id.to_string(),
        session_id: session_id.to_string(),
        url: to.url.to_string(),
        event: REPLY_EVENT.to_string(),
        body: interrupted_body().to_string(),
        status: AWAITING_TURN.into(),
        attempts: 0,
        next_attempt_at: deadline,
        response_status: None,
        error: None,
        created_at: now,
        delivered_at: None,
    }
}

/// The outbox row of the turn's reply, due at once (it replaces the placeholder).
pub fn delivery(
    plan: &TurnPlan,
    to: &ReplyTo,
    body: &Value,
    now: DateTime<Utc>,
) -> ReplyDeliveryRow {
    ReplyDeliveryRow {
        id: to.delivery_id.clone(),
        user_id: plan.user_id.clone(),
        workspace_id: plan.workspace_id.clone(),
        session_id: plan.session.id.clone(),
        url: to.url.to_string(),
        event: REPLY_EVENT.to_string(),
        body: body.to_string(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        response_status: None,
        error: None,
        created_at: now,
        delivered_at: None,
    }
}

/// The user's reply deliveries, newest first; plus the total.
pub async fn deliveries(
    store: &Store,
    user_id: &str,
    page: Page,
) -> ApiResult<(Vec<ReplyDeliveryRow>, i64)> {
    Ok(store
        .reply_deliveries()
        .of_user(user_id, page.limit, page.offset)
        .await?)
}

/// One reply delivery of the user (`running` while its turn runs); 404 for another user's.
pub async fn delivery_of(store: &Store, user_id: &str, id: &str) -> ApiResult<ReplyDeliveryRow> {
    store
        .reply_deliveries()
        .get(user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Reply delivery"))
}
