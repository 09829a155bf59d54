//! Delivery of an asynchronous chat reply to the caller's `webhookUrl`: signed with the
//! caller's own key (Standard Webhooks headers plus the legacy `X-Astra-Signature`), retried
//! with backoff, through the outbound URL guard.
//!
//! The key and the signature live in [`crate::webhooks::signing`] (re-exported here).

use std::time::Duration;

use serde_json::Value;

use super::runtime::TurnRuntime;
pub use crate::webhooks::signing::{rotate_signing_key, sign, signature_headers, signing_key};
use crate::{net::guarded_client, store::ids::new_id};

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;

/// POSTs `body` to `url` signed with `user_id`'s key, retrying failures (connection errors,
/// 5xx, 429) with backoff.
pub async fn deliver(rt: TurnRuntime, user_id: &str, url: reqwest::Url, event: &str, body: Value) {
    let client = match guarded_client(rt.allow_private_urls, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client");
            return;
        }
    };
    let payload = body.to_string();
    // Read at delivery time, so a rotation between the request and the reply applies.
    let secret = match signing_key(&rt.store, user_id).await {
        Ok(key) => key.secret,
        Err(e) => {
            tracing::error!(error = %e, "webhookUrl signing key; reply not sent");
            return;
        }
    };
    // The `webhook-id`, the same on every attempt so the receiver can deduplicate.
    let delivery_id = new_id("whd");
    let mut delay = rt.webhook_retry_base;
    for attempt in 1..=ATTEMPTS {
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("x-astra-event", event);
        for (name, value) in signature_headers(&delivery_id, timestamp, &payload, &[&secret]) {
            request = request.header(name, value);
        }
        let result = request.body(payload.clone()).send().await;
        match result {
            Ok(r) if r.status().is_success() => {
                tracing::info!(%url, attempt, "reply delivered to webhookUrl");
                return;
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                tracing::warn!(%url, status = r.status().as_u16(), "webhookUrl refused the reply; not retrying");
                return;
            }
            Ok(r) => {
                tracing::warn!(%url, attempt, status = r.status().as_u16(), "webhookUrl delivery failed")
            }
            Err(e) => tracing::warn!(%url, attempt, error = %e, "webhookUrl delivery failed"),
        }
        if attempt < ATTEMPTS {
            tokio::select! {
                () = tokio::time::sleep(delay) => {},
                () = rt.shutdown.cancelled() => return,
            }
            delay *= 2;
        }
    }
    tracing::error!(%url, "webhookUrl delivery gave up after {ATTEMPTS} attempts");
}
