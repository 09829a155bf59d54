//! `webhookUrl`: 202 at once, the reply POSTed (signed with the caller's own key) when the turn
//! ends, retried; the key is per user, made on first need, rotatable and shown only then.

use crate::helpers::{ChatApp, FakeLlm, User, chat_app};
use serde_json::{Value, json};

use crate::webhooks::receiver::{Captured, Receiver};
use astra::chat::reply_webhook::sign;

/// Whether `got` carries a valid signature of its raw body under `key`.
fn verifies(got: &Captured, key: &[u8]) -> bool {
    let ts: i64 = got.header("x-astra-timestamp").parse().unwrap();
    got.header("x-astra-signature") == format!("sha256={}", sign(key, ts, &got.body))
}

/// The user's key as stored (the API never shows it again after a rotation).
async fn stored_key(c: &ChatApp, uid: &str) -> Vec<u8> {
    c.store()
        .await
        .signing_keys()
        .signing_key(uid)
        .await
        .unwrap()
        .expect("a key was made")
        .secret
        .into_bytes()
}

async fn rotate(c: &ChatApp, token: &str) -> Value {
    let r = c
        .app
        .post("/users/me/webhook-secret", token, json!({}))
        .await
        .expect(201);
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(r.body["createdAt"].is_string(), "{}", r.text);
    r.body
}

#[tokio::test]
async fn the_reply_is_posted_to_the_webhook_url() {
    let rx = Receiver::start().await;
    // The first delivery fails, so the retry is exercised.
    rx.then_answer(&[503]);
    let fake = FakeLlm::saying("async hello").await;
    let c = chat_app(&fake).await;
    let me = c.app.get("/workspaces", &c.token).await.expect(200);
    let uid = me.body["items"][0]["ownerId"].as_str().unwrap().to_string();
    // No key before it is needed.
    c.app
        .get("/users/me/webhook-secret", &c.token)
        .await
        .expect_error(404, "NOT_FOUND");

    let r = c
        .chat(json!({"message": "hi", "webhookUrl": rx.url("/hook")}))
        .await
        .expect(202);
    assert_eq!(r.body["status"], "accepted");
    let session = r.body["sessionId"].as_str().unwrap().to_string();
    let got = rx.wait_for(2).await;
    let body = got[1].json();
    assert_eq!(body["content"], "async hello");
    assert_eq!(body["sessionId"], session.as_str());
    assert_eq!(body["usage"]["totalTokens"], 15);
    assert_eq!(got.len(), 2);

    // Signed with the user's own key, made on first need; reading it back shows metadata only.
    let key = stored_key(&c, &uid).await;
    assert!(verifies(&got[1], &key));
    assert!(!verifies(&got[1], &c.app.config.webhook_signing_key()));
    let info = c
        .app
        .get("/users/me/webhook-secret", &c.token)
        .await
        .expect(200);
    assert!(info.body["createdAt"].is_string(), "{}", info.text);
    assert!(info.body.get("secret").is_none(), "{}", info.text);
    assert!(
        !info.text.contains(std::str::from_utf8(&key).unwrap()),
        "{}",
        info.text
    );

    // Rotation: the new key signs the next reply, the old one no longer does.
    let rotated = rotate(&c, &c.token).await;
    let new_key = rotated["secret"].as_str().unwrap().as_bytes().to_vec();
    assert_ne!(new_key, key);
    c.chat(json!({"message": "again", "webhookUrl": rx.url("/hook")}))
        .await
        .expect(202);
    let got = rx.wait_for(3).await;
    assert!(verifies(&got[2], &new_key));
    assert!(!verifies(&got[2], &key));

    // Bad URLs are refused up front.
    c.chat(json!({"message": "hi", "webhookUrl": "ftp://example.com/x"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn replies_of_one_user_do_not_verify_with_another_users_key_or_the_gateway_key() {
    let rx = Receiver::start().await;
    let fake = FakeLlm::saying("for a only").await;
    let c = chat_app(&fake).await;
    let User {
        token: b_token,
        ws: b_ws,
        ..
    } = c.app.onboarded_user("reply-key-b@example.com").await;
    let a_key = rotate(&c, &c.token).await["secret"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let b_key = rotate(&c, &b_token).await["secret"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    assert_ne!(a_key, b_key);
    c.chat(json!({"message": "hi", "webhookUrl": rx.url("/a")}))
        .await
        .expect(202);
    c.app
        .chat_in(
            &b_token,
            &b_ws,
            json!({"message": "hi", "webhookUrl": rx.url("/b")}),
        )
        .await
        .expect(202);
    let got = rx.wait_for(2).await;
    let a = got.iter().find(|g| g.path == "/a").unwrap();
    let b = got.iter().find(|g| g.path == "/b").unwrap();
    assert!(verifies(a, &a_key));
    assert!(!verifies(a, &b_key), "A's reply verifies with B's key");
    assert!(
        !verifies(a, &c.app.config.webhook_signing_key()),
        "A's reply verifies with the gateway key"
    );
    assert!(verifies(b, &b_key));
    assert!(!verifies(b, &a_key));
    // Without a token there is no key to read or rotate.
    let anon = c
        .app
        .send(reqwest::Method::POST, "/users/me/webhook-secret", None, &[])
        .await;
    assert_eq!(anon.status, 401);
}
