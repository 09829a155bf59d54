//! The outbox worker: signed deliveries, retries after failures, `failed` after five attempts,
//! and events from chat turns.

use crate::helpers::{Answer, FakeLlm, chat_app};
use serde_json::{Value, json};

use super::receiver::{Captured, Receiver, eventually};
use crate::helpers::{TestApp, spawn_app};

/// Registers a webhook to `url`; returns (id, secret).
pub(crate) async fn hook(app: &TestApp, token: &str, url: &str, events: Value) -> (String, String) {
    let r = app
        .post("/webhooks", token, json!({"url": url, "events": events}))
        .await
        .expect(201);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    )
}

/// Asserts the signature headers of a captured delivery.
pub(crate) fn assert_signed(c: &Captured, secret: &str) {
    let ts: i64 = c.header("x-astra-timestamp").parse().unwrap();
    let expected = astra::chat::reply_webhook::sign(secret.as_bytes(), ts, &c.body);
    assert_eq!(c.header("x-astra-signature"), format!("sha256={expected}"));
    assert_eq!(c.header("content-type"), "application/json");
}

/// Waits until the webhook's latest delivery reaches `status`; returns it.
async fn delivery_with(app: &TestApp, token: &str, hook: &str, status: &str) -> Value {
    eventually(|| async {
        let r = app
            .get(&format!("/webhooks/{hook}/deliveries"), token)
            .await
            .expect(200);
        let d = r.body["items"][0].clone();
        (d["status"] == status).then_some(d)
    })
    .await
}

#[tokio::test]
async fn a_test_event_is_delivered_signed() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    let (token, _, _) = app.register("deliver@example.com").await;
    let (id, secret) = hook(&app, &token, &rx.url("/hook"), json!(["chat.completed"])).await;
    let r = app
        .post(&format!("/webhooks/{id}/test"), &token, json!({}))
        .await
        .expect(202);
    let delivery_id = r.body["deliveryId"].as_str().unwrap().to_string();
    assert!(delivery_id.starts_with("whd_"));
    let got = rx.wait_for(1).await;
    let c = &got[0];
    assert_eq!(c.path, "/hook");
    assert_eq!(c.header("x-astra-event"), "webhook.test");
    assert_eq!(c.header("x-astra-delivery"), delivery_id);
    assert_signed(c, &secret);
    let body = c.json();
    assert_eq!(body["event"], "webhook.test");
    assert!(body["id"].as_str().unwrap().starts_with("evt_"));
    assert!(body["createdAt"].is_string());
    assert_eq!(body["data"]["webhookId"], id.as_str());
    let d = delivery_with(&app, &token, &id, "delivered").await;
    assert_eq!(d["id"], delivery_id.as_str());
    assert_eq!(d["event"], "webhook.test");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["responseStatus"], 200);
    assert!(d["deliveredAt"].is_string() && d["error"].is_null());
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_body() {
    let rx = Receiver::start().await;
    rx.then_answer(&[500]);
    let app = spawn_app().await;
    let (token, _, _) = app.register("retry@example.com").await;
    let (id, secret) = hook(&app, &token, &rx.url("/r"), json!(["*"])).await;
    app.post(&format!("/webhooks/{id}/test"), &token, json!({}))
        .await
        .expect(202);
    let got = rx.wait_for(2).await;
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(
        got[0].header("x-astra-delivery"),
        got[1].header("x-astra-delivery")
    );
    assert_signed(&got[1], &secret);
    let d = delivery_with(&app, &token, &id, "delivered").await;
    assert_eq!(d["attempts"], 2);
}

#[tokio::test]
async fn a_delivery_fails_after_five_attempts() {
    let rx = Receiver::start().await;
    rx.always_answer(503);
    let app = spawn_app().await;
    let (token, _, _) = app.register("fail@example.com").await;
    let (id, _) = hook(&app, &token, &rx.url("/f"), json!(["*"])).await;
    app.post(&format!("/webhooks/{id}/test"), &token, json!({}))
        .await
        .expect(202);
    let d = delivery_with(&app, &token, &id, "failed").await;
    assert_eq!(d["attempts"], 5);
    assert_eq!(d["responseStatus"], 503);
    assert!(d["error"].as_str().unwrap().contains("503"));
    assert_eq!(rx.captured().len(), 5);
}

#[tokio::test]
async fn a_client_error_is_final() {
    let rx = Receiver::start().await;
    rx.always_answer(410);
    let app = spawn_app().await;
    let (token, _, _) = app.register("gone@example.com").await;
    let (id, _) = hook(&app, &token, &rx.url("/g"), json!(["*"])).await;
    app.post(&format!("/webhooks/{id}/test"), &token, json!({}))
        .await
        .expect(202);
    let d = delivery_with(&app, &token, &id, "failed").await;
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["responseStatus"], 410);
}

#[tokio::test]
async fn a_chat_turn_emits_session_created_and_chat_completed() {
    let rx = Receiver::start().await;
    let fake = FakeLlm::saying("hello from the agent").await;
    let c = chat_app(&fake).await;
    let (_, secret) = hook(
        &c.app,
        &c.token,
        &rx.url("/chat"),
        json!(["chat.completed", "session.created"]),
    )
    .await;
    // Subscribed to other events only: receives nothing.
    let other = Receiver::start().await;
    hook(&c.app, &c.token, &other.url("/x"), json!(["job.failed"])).await;
    let r = c.chat(json!({"message": "hi"})).await.expect(200);
    let session = r.body["sessionId"].as_str().unwrap().to_string();
    let got = rx.wait_for(2).await;
    let by_event = |name: &str| {
        got.iter()
            .find(|c| c.header("x-astra-event") == name)
            .unwrap_or_else(|| panic!("no {name} delivery"))
            .clone()
    };
    let done = by_event("chat.completed");
    assert_signed(&done, &secret);
    let body = done.json();
    assert_eq!(body["data"]["content"], "hello from the agent");
    assert_eq!(body["data"]["sessionId"], session.as_str());
    assert_eq!(body["data"]["agentId"], "chad");
    assert_eq!(body["data"]["workspaceId"], c.ws.as_str());
    assert_eq!(body["data"]["usage"]["totalTokens"], 15);
    assert_eq!(
        by_event("session.created").json()["data"]["sessionId"],
        session.as_str()
    );
    // A second turn in the same session: chat.completed only.
    c.chat(json!({"message": "again"})).await.expect(200);
    let got = rx.wait_for(3).await;
    assert_eq!(got[2].header("x-astra-event"), "chat.completed");
    assert!(other.captured().is_empty());
}

#[tokio::test]
async fn a_failed_turn_emits_chat_failed() {
    let rx = Receiver::start().await;
    let fake = FakeLlm::start(|_, _| Answer::error(400)).await;
    let c = chat_app(&fake).await;
    hook(&c.app, &c.token, &rx.url("/chat"), json!(["chat.failed"])).await;
    let r = c.chat(json!({"message": "hi"})).await;
    assert!(r.status >= 400, "{}", r.text);
    let got = rx.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["event"], "chat.failed");
    assert_eq!(body["data"]["status"], "error");
    assert!(body["data"]["error"].is_string());
}

#[tokio::test]
async fn events_reach_only_active_webhooks_that_see_the_workspace() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    let (token, _, _) = app.register("scope@example.com").await;
    let ws_a = app.workspace(&token, "A").await;
    let ws_b = app.workspace(&token, "B").await;
    let create = |path: &'static str, ws: Option<String>| {
        let (app, token, url) = (&app, &token, rx.url(path));
        async move {
            let body = json!({"url": url, "events": ["job.completed"]});
            let r = match ws {
                Some(ws) => {
                    app.send_ws(reqwest::Method::POST, "/webhooks", token, &ws, Some(body))
                        .await
                }
                None => app.post("/webhooks", token, body).await,
            };
            r.expect(201).id()
        }
    };
    create("/all", None).await;
    create("/a", Some(ws_a.clone())).await;
    create("/b", Some(ws_b)).await;
    let off = create("/off", None).await;
    app.put(
        &format!("/webhooks/{off}"),
        &token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.send_ws(
        reqwest::Method::POST,
        "/jobs",
        &token,
        &ws_a,
        Some(json!({"type": "noop"})),
    )
    .await
    .expect(201);
    rx.wait_for(2).await;
    // Give a wrongly addressed delivery time to show up.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut paths: Vec<String> = rx.captured().into_iter().map(|c| c.path).collect();
    paths.sort();
    assert_eq!(paths, ["/a", "/all"]);
}
