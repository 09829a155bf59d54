//! Signatures of outgoing webhooks and each user's reply-signing key.
//!
//! Both the outbox worker (endpoint secrets) and the `webhookUrl` reply delivery (the user's
//! key) sign `"{timestamp}.{body}"` the same way, so one function serves both.
//!
//! The reply key is per user (`webhook_signing_keys`), made on first need and rotatable, so a
//! receiver can tell one user's replies from another's: with one gateway-wide key any tenant
//! could forge a "reply" to any other tenant's receiver.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::new_secret;
use crate::store::{SigningKeyRow, Store};

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
    if let Some(key) = store.signing_keys().signing_key(user_id).await? {
        return Ok(key);
    }
    store
        .signing_keys()
        .ensure_signing_key(user_id, &new_secret(), chrono::Utc::now())
        .await
}

/// Gives the user a new random key; the previous one signs nothing from now on.
pub async fn rotate_signing_key(
    store: &Store,
    user_id: &str,
) -> Result<SigningKeyRow, sqlx::Error> {
    store
        .signing_keys()
        .replace_signing_key(user_id, &new_secret(), chrono::Utc::now())
        .await
}
