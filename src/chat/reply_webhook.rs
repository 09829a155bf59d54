//! Delivery of an asynchronous chat reply to the caller's `webhookUrl`: signed, retried with
//! backoff, through the outbound URL guard.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::{app::AppState, net::guarded_client};

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

/// POSTs `body` to `url`, retrying failures (connection errors, 5xx, 429) with backoff.
pub async fn deliver(state: AppState, url: reqwest::Url, event: &str, body: Value) {
    let client = match guarded_client(state.config.allow_private_urls, Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client");
            return;
        }
    };
    let payload = body.to_string();
    let secret = state.config.webhook_signing_key();
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
