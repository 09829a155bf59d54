//! Standard Webhooks (standardwebhooks.com): deliveries of webhooks and `webhookUrl` replies
//! verified by an implementation of the spec written here (not Astra's signing code), secret
//! rotation with its overlap window.
//!
//! With `ASTRA_SW_CAPTURE=<dir>` every test also writes its captured deliveries there as JSON
//! (`[{name, secret, payload, headers, valid}]`); `.ci/run` has them checked by the
//! `standardwebhooks` PyPI package (`tests/clients/standardwebhooks_verify.py`).

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::delivery::hook;
use super::receiver::{Captured, Receiver};
use crate::helpers::{FakeLlm, TestApp, chat_app, spawn_app, spawn_app_with};

/// The spec's key: the base64-decoded part after `whsec_`.
fn key_of(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    STANDARD.decode(b64).expect("base64 secret")
}

/// The spec's check: some `v1,` signature in `webhook-signature` is the base64 HMAC-SHA256 of
/// `"{webhook-id}.{webhook-timestamp}.{body}"`, and the timestamp is within 5 minutes.
fn verifies(c: &Captured, secret: &str) -> bool {
    let id = c.header("webhook-id");
    let ts = c.header("webhook-timestamp");
    let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().expect("unix seconds");
    assert!(age.abs() <= 300, "timestamp {ts} too far from now");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)).unwrap();
    mac.update(format!("{id}.{ts}.{}", c.body).as_bytes());
    let expected = mac.finalize().into_bytes();
    c.header("webhook-signature").split(' ').any(|sig| {
        sig.strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|got| got.as_slice() == expected.as_slice())
    })
}

/// A new secret: `whsec_` + base64 of 32 bytes.
fn assert_secret_format(secret: &str) {
    assert_eq!(key_of(secret).len(), 32, "{secret}");
}

/// Writes `(capture, secret, expected validity)` triples for the Python check when asked to.
fn record(test: &str, cases: &[(&Captured, &str, bool)]) {
    let Ok(dir) = std::env::var("ASTRA_SW_CAPTURE") else {
        return;
    };
    let items: Vec<Value> = cases
        .iter()
        .map(|(c, secret, valid)| {
            let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
                .iter()
                .map(|h| (h.to_string(), Value::from(c.header(h))))
                .collect();
            json!({"name": test, "secret": secret, "payload": c.body, "headers": headers, "valid": valid})
        })
        .collect();
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::path::Path::new(&dir).join(format!("{test}.json"));
    std::fs::write(path, serde_json::to_string_pretty(&items).unwrap()).unwrap();
}

async fn send_test(app: &TestApp, token: &str, id: &str) -> String {
    let r = app
        .post(&format!("/webhooks/{id}/test"), token, json!({}))
        .await
        .expect(202);
    r.body["deliveryId"].as_str().unwrap().to_string()
}

async fn rotate(app: &TestApp, token: &str, id: &str) -> String {
    let r = app
        .post(&format!("/webhooks/{id}/rotate-secret"), token, json!({}))
        .await
        .expect(200);
    r.body["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn webhook_deliveries_carry_standard_signatures_stable_across_retries() {
    let rx = Receiver::start().await;
    rx.then_answer(&[503]);
    let app = spawn_app().await;
    let (token, _, _) = app.register("sw-hook@example.com").await;
    let (id, secret) = hook(&app, &token, &rx.url("/hook"), json!(["*"])).await;
    assert_secret_format(&secret);
    let delivery_id = send_test(&app, &token, &id).await;
    let got = rx.wait_for(2).await;
    for c in &got {
        assert_eq!(c.header("webhook-id"), delivery_id);
        assert_eq!(c.header("x-astra-event"), "webhook.test");
        assert!(verifies(c, &secret), "{:?}", c.headers);
        // The legacy header stays for one release.
        assert!(c.header("x-astra-signature").starts_with("sha256="));
    }
    let mut tampered = got[1].clone();
    tampered.body = tampered.body.replace("test event", "forged event");
    assert!(!verifies(&tampered, &secret));
    record(
        "webhook",
        &[(&got[1], &secret, true), (&tampered, &secret, false)],
    );
}

#[tokio::test]
async fn during_the_overlap_both_secrets_sign() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    let (token, _, _) = app.register("sw-rotate@example.com").await;
    let (id, old) = hook(&app, &token, &rx.url("/hook"), json!(["*"])).await;
    let new = rotate(&app, &token, &id).await;
    assert_secret_format(&new);
    assert_ne!(new, old);
    send_test(&app, &token, &id).await;
    let got = rx.wait_for(1).await;
    let c = &got[0];
    assert_eq!(c.header("webhook-signature").split(' ').count(), 2);
    assert!(verifies(c, &new));
    assert!(verifies(c, &old));
    // The legacy signature follows the new secret.
    let legacy = astra::chat::reply_webhook::sign(
        new.as_bytes(),
        c.header("x-astra-timestamp").parse().unwrap(),
        &c.body,
    );
    assert_eq!(c.header("x-astra-signature"), format!("sha256={legacy}"));
    record("rotation", &[(c, &new, true), (c, &old, true)]);

    // The secret is shown once; unknown or foreign webhooks are 404.
    let shown = app
        .get(&format!("/webhooks/{id}"), &token)
        .await
        .expect(200);
    assert!(shown.body.get("secret").is_none(), "{}", shown.text);
    app.post("/webhooks/wh_missing/rotate-secret", &token, json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
    let (other, _, _) = app.register("sw-other@example.com").await;
    app.post(&format!("/webhooks/{id}/rotate-secret"), &other, json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn after_the_overlap_only_the_new_secret_signs() {
    let rx = Receiver::start().await;
    let app = spawn_app_with(|c| c.webhook_rotation_overlap = Duration::ZERO).await;
    let (token, _, _) = app.register("sw-expired@example.com").await;
    let (id, old) = hook(&app, &token, &rx.url("/hook"), json!(["*"])).await;
    let new = rotate(&app, &token, &id).await;
    send_test(&app, &token, &id).await;
    let got = rx.wait_for(1).await;
    let c = &got[0];
    assert_eq!(c.header("webhook-signature").split(' ').count(), 1);
    assert!(verifies(c, &new));
    assert!(!verifies(c, &old));
    record("expired", &[(c, &new, true), (c, &old, false)]);
}

#[tokio::test]
async fn webhook_url_replies_carry_standard_signatures() {
    let rx = Receiver::start().await;
    rx.then_answer(&[503]);
    let fake = FakeLlm::saying("standard reply").await;
    let c = chat_app(&fake).await;
    let r = c
        .app
        .post("/users/me/webhook-secret", &c.token, json!({}))
        .await
        .expect(201);
    let secret = r.body["secret"].as_str().unwrap().to_string();
    assert_secret_format(&secret);
    c.chat(json!({"message": "hi", "webhookUrl": rx.url("/reply")}))
        .await
        .expect(202);
    let got = rx.wait_for(2).await;
    assert!(got[0].header("webhook-id").starts_with("whd_"));
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    for reply in &got {
        assert!(verifies(reply, &secret), "{:?}", reply.headers);
    }
    assert_eq!(got[1].json()["content"], "standard reply");
    record("reply", &[(&got[1], &secret, true)]);
}
