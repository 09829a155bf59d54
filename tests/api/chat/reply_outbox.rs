//! `webhookUrl` replies are outbox deliveries: the 202 names the delivery (`deliveryId`), the
//! reply row is written with the turn, the webhook worker sends it (signed with the caller's
//! key, `webhook-id` = the delivery id on every attempt, retried, refused for private
//! addresses at send time too), and `GET /users/me/reply-deliveries` shows it to its owner only.

use astra::{
    webhooks::signing::{secret_key, standard_signature},
    with_pool,
};
use serde_json::{Value, json};

use crate::{
    helpers::{ChatApp, FakeLlm, chat_app, chat_app_with, test_config},
    webhooks::receiver::{Captured, Receiver, eventually},
};

/// Whether `got` carries a Standard Webhooks signature of its body under the user's key.
fn verifies(got: &Captured, secret: &str) -> bool {
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    let expected = standard_signature(&secret_key(secret), got.header("webhook-id"), ts, &got.body);
    got.header("webhook-signature")
        .split(' ')
        .any(|s| s == expected)
}

/// The caller's reply key as stored.
async fn stored_secret(c: &ChatApp) -> String {
    c.store()
        .await
        .signing_keys()
        .signing_key(&c.user.id)
        .await
        .unwrap()
        .expect("a key was made")
        .secret
}

/// The delivery as the API shows it, once it has `status` after `attempts` attempts.
async fn delivery_with_status(c: &ChatApp, id: &str, status: &str, attempts: i64) -> Value {
    eventually(|| async {
        let r = c
            .app
            .get(&format!("/users/me/reply-deliveries/{id}"), &c.token)
            .await;
        (r.status == 200 && r.body["status"] == status && r.body["attempts"] == attempts)
            .then_some(r.body)
    })
    .await
}

#[tokio::test]
async fn a_reply_is_one_delivery_retried_under_its_id_and_visible_to_its_owner_only() {
    let rx = Receiver::start().await;
    rx.then_answer(&[500]);
    let fake = FakeLlm::saying("outbox reply").await;
    let c = chat_app(&fake).await;
    let r = c
        .chat(json!({"message": "hi", "webhookUrl": rx.url("/reply")}))
        .await
        .expect(202);
    let id = r.body["deliveryId"].as_str().unwrap().to_string();
    let session = r.body["sessionId"].as_str().unwrap().to_string();
    assert!(id.starts_with("whd_"), "{}", r.text);

    let got = rx.wait_for(2).await;
    let body = delivery_with_status(&c, &id, "delivered", 2).await;
    // The failed attempt and the retry carry the same id, the one the 202 answered.
    assert!(got.iter().all(|g| g.header("webhook-id") == id));
    assert!(
        got.iter()
            .all(|g| g.header("x-astra-event") == "chat.completed")
    );
    let secret = stored_secret(&c).await;
    assert!(got.iter().all(|g| verifies(g, &secret)));
    let reply = got[1].json();
    assert_eq!(reply["content"], "outbox reply");
    assert_eq!(reply["sessionId"], session.as_str());
    assert_eq!(reply["usage"]["totalTokens"], 15);
    assert_eq!(body["attempts"], 2, "{body}");
    assert_eq!(body["responseStatus"], 200, "{body}");
    assert_eq!(body["sessionId"], session.as_str());
    assert_eq!(body["url"], rx.url("/reply"));
    assert!(body["deliveredAt"].is_string(), "{body}");
    assert!(body["nextAttemptAt"].is_null(), "{body}");
    // Delivered once: nothing after the success.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rx.captured().len(), 2);

    let list = c
        .app
        .get("/users/me/reply-deliveries", &c.token)
        .await
        .expect(200);
    assert_eq!(list.body["total"], 1, "{}", list.text);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert_eq!(list.body["items"][0]["status"], "delivered");

    // Another user sees none of it.
    let other = c.app.onboarded_user("reply-outbox-b@example.com").await;
    let theirs = c
        .app
        .get("/users/me/reply-deliveries", &other.token)
        .await
        .expect(200);
    assert_eq!(theirs.body["total"], 0, "{}", theirs.text);
    assert_eq!(theirs.body["items"], json!([]));
    c.app
        .get(&format!("/users/me/reply-deliveries/{id}"), &other.token)
        .await
        .expect_error(404, "NOT_FOUND");
    let anon = c
        .app
        .send(
            reqwest::Method::GET,
            "/users/me/reply-deliveries",
            None,
            &[],
        )
        .await;
    assert_eq!(anon.status, 401);
}

#[tokio::test]
async fn a_refusing_receiver_ends_the_delivery_at_once() {
    let rx = Receiver::start().await;
    rx.always_answer(410);
    let fake = FakeLlm::saying("gone").await;
    let c = chat_app(&fake).await;
    let r = c
        .chat(json!({"message": "hi", "webhookUrl": rx.url("/gone")}))
        .await
        .expect(202);
    let id = r.body["deliveryId"].as_str().unwrap().to_string();
    let body = delivery_with_status(&c, &id, "failed", 1).await;
    assert_eq!(body["attempts"], 1, "{body}");
    assert_eq!(body["responseStatus"], 410, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rx.captured().len(), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn private_addresses_are_refused_when_accepted_and_when_sent() {
    let rx = Receiver::start().await;
    rx.always_answer(500);
    let fake = FakeLlm::saying("not for loopback").await;
    // Retries an hour apart: the pending retry is what the second gateway finds.
    let mut c = chat_app_with(&fake, |cfg| {
        cfg.webhook_retry_base = std::time::Duration::from_secs(3600);
    })
    .await;
    let r = c
        .chat(json!({"message": "hi", "webhookUrl": rx.url("/private")}))
        .await
        .expect(202);
    let id = r.body["deliveryId"].as_str().unwrap().to_string();
    let pending = delivery_with_status(&c, &id, "pending", 1).await;
    assert_eq!(pending["attempts"], 1, "{pending}");
    assert!(pending["nextAttemptAt"].is_string(), "{pending}");
    let store = c.store().await;
    c.app.signal_shutdown().await.unwrap().unwrap();

    // The same database served by a gateway that refuses private addresses.
    let mut config = test_config(&c.app.db);
    config.allow_private_urls = false;
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE reply_deliveries SET next_attempt_at = $1")
            .bind(chrono::Utc::now() - chrono::Duration::seconds(1)).execute(p).await.unwrap().rows_affected()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let second = tokio::spawn(astra::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let (status, attempts, error): (String, i64, Option<String>) = eventually(|| async {
        let row: (String, i64, Option<String>) = with_pool!(store.pool(), p => {
            sqlx::query_as("SELECT status, attempts, error FROM reply_deliveries WHERE id = $1")
                .bind(&id).fetch_one(p).await.unwrap()
        });
        (row.0 == "failed").then_some(row)
    })
    .await;
    assert_eq!((status.as_str(), attempts), ("failed", 2));
    assert!(error.is_some());
    assert_eq!(
        rx.captured().len(),
        1,
        "nothing sent to the private address"
    );

    // A private webhookUrl is refused up front by such a gateway.
    let refused = c
        .app
        .client
        .post(format!("http://{addr}/agent/chat"))
        .bearer_auth(&c.token)
        .header("x-workspace-id", &c.ws)
        .json(&json!({"message": "hi", "webhookUrl": rx.url("/private")}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let _ = stop.send(());
    second.await.unwrap().unwrap();
}
