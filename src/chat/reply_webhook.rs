//! Delivery of an asynchronous chat reply to the caller's `webhookUrl`: signed with the
//! caller's own key, retried with backoff, through the outbound URL guard.
//!
//! The key is per user (`webhook_signing_keys`), made on first need and rotatable, so a
//! receiver can tell one user's replies from another's: with one gateway-wide key any tenant
//! could forge a "reply" to any other tenant's receiver.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::{
    app::AppState,
    net::guarded_client,
    store::{SigningKeyRow, Store},
};

/// Attempts per delivery.
const ATTEMPTS: u32 = 4;

/// `hex(HMAC-SHA256(secret, "{timestamp}.{body}"))`, sent as `X-Astra-Signature: sha256=…`.
pub fn sign(secret: &[u8], timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The user's reply-signing key, made (random, `whsec_…`) on first need.
pub async fn signing_key(store: &Store, user_id: &str) -> Result<SigningKeyRow, sqlx::Error> {
    if let Some(key) = store.signing_key(user_id).await? {
        return Ok(key);
    }
    store
        .ensure_signing_key(user_id, &crate::webhooks::new_secret(), chrono::Utc::now())
        .await
}

/// Gives the user a new random key; the previous one signs nothing from now on.
pub async fn rotate_signing_key(
    store: &Store,
    user_id: &str,
) -> Result<SigningKeyRow, sqlx::Error> {
    store
        .replace_signing_key(user_id, &crate::webhooks::new_secret(), chrono::Utc::now())
        .await
}

/// POSTs `body` to `url` signed with `user_id`'s key, retrying failures (connection errors,
/// 5xx, 429) with backoff.
pub async fn deliver(state: AppState, user_id: &str, url: reqwest::Url, event: &str, body: Value) {
    let client = match guarded_client(state.config.allow_private_urls, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client");
            return;
        }
    };
    let payload = body.to_string();
    // Read at delivery time, so a rotation between the request and the reply applies.
    let secret = match signing_key(&state.store, user_id).await {
        Ok(key) => key.secret.into_bytes(),
        Err(e) => {
            tracing::error!(error = %e, "webhookUrl signing key; reply not sent");
            return;
        }
    };
    let mut delay = state.config.webhook_retry_base;
    for attempt in 1..=ATTEMPTS {
        let timestamp = chrono::Utc::now().timestamp();
        let result = client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("x-astra-event", event)
            .header("x-astra-timestamp", timestamp.to_string())
            .header(
                "x-astra-signature",
                format!("sha256={}", sign(&secret, timestamp, &payload)),
            )
            .body(payload.clone())
            .send()
            .await;
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
                () = state.shutdown.cancelled() => return,
            }
            delay *= 2;
        }
    }
    tracing::error!(%url, "webhookUrl delivery gave up after {ATTEMPTS} attempts");
}
