//! Signatures of outgoing webhooks and each user's reply-signing key.
//!
//! The outbox worker sends the same headers for webhook deliveries (endpoint secrets) and
//! `webhookUrl` replies (the user's key), built by [`signature_headers`]: the Standard Webhooks ones
//! (standardwebhooks.com: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
//! HMAC-SHA256 of "{id}.{timestamp}.{body}">`, so any Standard Webhooks library verifies them)
//! and, for one more release, the legacy `X-Astra-Timestamp` / `X-Astra-Signature`
//! (`sha256=hex(HMAC(secret, "{timestamp}.{body}"))`, see [`sign`]).
//!
//! The reply key is per user (`webhook_signing_keys`), made on first need and rotatable, so a
//! receiver can tell one user's replies from another's: with one gateway-wide key any tenant
//! could forge a "reply" to any other tenant's receiver.

use base64::{
    Engine as _, alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig, general_purpose::STANDARD},
};
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

/// Base64 that accepts missing padding, as the Standard Webhooks libraries do.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The HMAC key of a secret, derived as the Standard Webhooks libraries do: the base64-decoded
/// part after `whsec_`. That also holds for the hex secrets of older releases (hex digits are
/// base64), so receivers keep verifying with the secret they have. A secret that does not
/// decode (none made by Astra) is used as its raw bytes.
pub fn secret_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    match LENIENT.decode(encoded) {
        Ok(key) if !key.is_empty() => key,
        _ => secret.as_bytes().to_vec(),
    }
}

/// `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`: one Standard Webhooks signature.
pub fn standard_signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The signature headers of one delivery attempt. `secrets` are the ones in force, current
/// first (a rotated-out secret follows during the overlap window); `webhook-signature` lists
/// one `v1,…` per secret, space-separated as the spec allows. The legacy headers are signed
/// with the current secret's raw bytes, as before.
pub fn signature_headers(
    id: &str,
    timestamp: i64,
    body: &str,
    secrets: &[&str],
) -> Vec<(&'static str, String)> {
    let signatures: Vec<String> = secrets
        .iter()
        .map(|s| standard_signature(&secret_key(s), id, timestamp, body))
        .collect();
    let mut headers = vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
        ("x-astra-timestamp", timestamp.to_string()),
    ];
    if let Some(current) = secrets.first() {
        let legacy = sign(current.as_bytes(), timestamp, body);
        headers.push(("x-astra-signature", format!("sha256={legacy}")));
    }
    headers
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_secrets_decode_to_32_bytes() {
        assert_eq!(secret_key(&super::super::new_secret()).len(), 32);
    }

    #[test]
    fn older_hex_secrets_decode_like_the_libraries_do() {
        // `whsec_` + 64 hex digits, as older releases made them: base64 of 48 bytes.
        let old = format!("whsec_{}", "ab".repeat(32));
        assert_eq!(secret_key(&old).len(), 48);
        assert_eq!(secret_key("not base64!"), b"not base64!".to_vec());
    }

    #[test]
    fn the_spec_example_verifies() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
