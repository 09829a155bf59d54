//! Outgoing webhooks: the known events, [`emit`] (which writes the outbox), the operations of
//! the `/webhooks` routes in [`endpoints`] and the delivery worker in [`worker`].
//!
//! An event becomes one `webhook_deliveries` row per subscribed endpoint; the worker POSTs
//! `{id, event, createdAt, data}` signed ([`signing`]) with the endpoint's own secret,
//! retrying with exponential backoff. The body is fixed when the row is written, so every attempt sends
//! (and signs) the same bytes and receivers can deduplicate on `id`, `webhook-id` or
//! `X-Astra-Delivery` (all stable across retries).

pub mod endpoints;
pub mod signing;
pub mod worker;

pub use signing::{rotate_signing_key, sign, signature_headers, signing_key};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use tokio_util::task::TaskTracker;

use crate::store::{DeliveryRow, Store, WebhookRow, ids::new_id};

/// Every event a webhook may subscribe to (`*` subscribes to all of them).
pub const EVENTS: [&str; 8] = [
    "chat.completed",
    "chat.failed",
    "session.created",
    "job.completed",
    "job.failed",
    "heartbeat.failed",
    "heartbeat.recovered",
    "webhook.test",
];

/// Attempts per delivery before it is marked `failed`.
pub const MAX_ATTEMPTS: i64 = 5;

/// True for a name in [`EVENTS`].
pub fn is_known_event(name: &str) -> bool {
    EVENTS.contains(&name)
}

/// A new signing secret in the Standard Webhooks format: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn subscribed(hook: &WebhookRow, event: &str) -> bool {
    hook.events.0.iter().any(|e| e == "*" || e == event)
}

fn delivery(hook_id: &str, event: &str, body: &Value, now: DateTime<Utc>) -> DeliveryRow {
    DeliveryRow {
        id: new_id("whd"),
        webhook_id: hook_id.to_string(),
        event: event.to_string(),
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

fn envelope(event: &str, data: Value, now: DateTime<Utc>) -> Value {
    json!({
        "id": new_id("evt"),
        "event": event,
        "createdAt": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
}

/// Queues `event` for every active webhook of `user_id` that subscribed to it and sees
/// `workspace_id` (endpoints limited to another workspace are skipped). Returns how many
/// deliveries were queued; the worker sends them.
pub async fn emit(
    store: &Store,
    user_id: &str,
    workspace_id: Option<&str>,
    event: &str,
    data: Value,
) -> Result<usize, sqlx::Error> {
    let hooks = store
        .webhooks()
        .webhooks_for_event(user_id, workspace_id)
        .await?;
    let now = Utc::now();
    let body = envelope(event, data, now);
    let rows: Vec<DeliveryRow> = hooks
        .iter()
        .filter(|h| subscribed(h, event))
        .map(|h| delivery(&h.id, event, &body, now))
        .collect();
    store.webhooks().enqueue_deliveries(&rows).await?;
    if !rows.is_empty() {
        tracing::debug!(event, deliveries = rows.len(), "webhook event queued");
    }
    Ok(rows.len())
}

/// [`emit`] on `tasks`, for callers that must not wait (the end of a chat turn).
pub fn emit_later(
    store: &Store,
    tasks: &TaskTracker,
    user_id: String,
    workspace_id: Option<String>,
    event: &'static str,
    data: Value,
) {
    let store = store.clone();
    tasks.spawn(async move {
        if let Err(e) = emit(&store, &user_id, workspace_id.as_deref(), event, data).await {
            tracing::warn!(event, error = %e, "could not queue a webhook event");
        }
    });
}

/// Queues a `webhook.test` event for one endpoint (whatever it subscribed to); returns the
/// delivery id.
pub async fn enqueue_test(store: &Store, hook: &WebhookRow) -> Result<String, sqlx::Error> {
    let now = Utc::now();
    let body = envelope(
        "webhook.test",
        json!({ "webhookId": hook.id, "message": "This is a test event from Astra." }),
        now,
    );
    let row = delivery(&hook.id, "webhook.test", &body, now);
    store
        .webhooks()
        .enqueue_deliveries(std::slice::from_ref(&row))
        .await?;
    Ok(row.id)
}
