//! Outgoing webhooks: the known events, [`outbox`] (an event's deliveries), [`emit`], the
//! operations of the `/webhooks` routes in [`endpoints`] and the delivery worker in [`worker`].
//!
//! An event becomes one `webhook_deliveries` row per subscribed endpoint. Events caused by a
//! state change (a turn recorded, a job finished, a monitor run stored) are a transactional
//! outbox: the caller resolves the rows with [`outbox`] first (a read), then the store writes
//! them in the same transaction as the change, so the event is durable exactly when the change
//! is — a crash in between loses both or neither. The worker POSTs
//! `{id, event, createdAt, data}` signed ([`signing`]) with the endpoint's own secret,
//! retrying with exponential backoff. The body is fixed when the row is written, so every attempt sends
//! (and signs) the same bytes and receivers can deduplicate on `id`, `webhook-id` or
//! `X-Astra-Delivery` (all stable across retries).
//!
//! `webhookUrl` chat replies are outbox rows too (`reply_deliveries`, written with the turn
//! by the chat recording); the same worker claims and sends them with the same
//! lease, retry and outcome rules, signed with the owner's reply key instead of an endpoint
//! secret.

pub mod endpoints;
pub mod signing;
pub mod worker;

pub use signing::{rotate_signing_key, sign, signature_headers, signing_key};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

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

/// The deliveries of `events` (name and data) for every active webhook of `user_id` that
/// subscribed to each and sees `workspace_id` (endpoints limited to another workspace are
/// skipped), to be written by the store in the transaction of the state change that causes
/// them. One read, whatever the number of events.
pub async fn outbox(
    store: &Store,
    user_id: &str,
    workspace_id: Option<&str>,
    events: Vec<(&str, Value)>,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let hooks = store
        .webhooks()
        .webhooks_for_event(user_id, workspace_id)
        .await?;
    let now = Utc::now();
    let mut rows = Vec::new();
    for (event, data) in events {
        let body = envelope(event, data, now);
        rows.extend(
            hooks
                .iter()
                .filter(|h| subscribed(h, event))
                .map(|h| delivery(&h.id, event, &body, now)),
        );
    }
    Ok(rows)
}

/// Queues `event` on its own (an event that is itself the effect, as a `webhook_emit` job's):
/// [`outbox`] then one insert. Returns how many deliveries were queued; the worker sends them.
pub async fn emit(
    store: &Store,
    user_id: &str,
    workspace_id: Option<&str>,
    event: &str,
    data: Value,
) -> Result<usize, sqlx::Error> {
    let rows = outbox(store, user_id, workspace_id, vec![(event, data)]).await?;
    store.webhooks().enqueue_deliveries(&rows).await?;
    if !rows.is_empty() {
        tracing::debug!(event, deliveries = rows.len(), "webhook event queued");
    }
    Ok(rows.len())
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
