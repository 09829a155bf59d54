//! The transactional outbox seen through the API: a chat turn's and a finished job's events
//! are queued with the state change itself — already listed when the reply (or the job's end)
//! is visible — exactly once per subscribed webhook, and delivered once.

use serde_json::{Value, json};

use super::delivery::hook;
use super::receiver::{Receiver, eventually};
use crate::helpers::{FakeLlm, TestApp, chat_app};

/// The events of a webhook's deliveries, oldest first.
async fn events_of(app: &TestApp, token: &str, hook: &str) -> Vec<String> {
    let r = app
        .get(&format!("/webhooks/{hook}/deliveries"), token)
        .await
        .expect(200);
    assert_eq!(r.body["total"], r.body["items"].as_array().unwrap().len());
    let mut events: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|d| d["event"].as_str().unwrap().to_string())
        .collect();
    events.sort();
    events
}

#[tokio::test]
async fn a_chat_turn_queues_one_delivery_per_subscribed_webhook_with_the_turn() {
    let rx = Receiver::start().await;
    let fake = FakeLlm::saying("hello").await;
    let c = chat_app(&fake).await;
    let (done, _) = hook(
        &c.app,
        &c.token,
        &rx.url("/done"),
        json!(["chat.completed"]),
    )
    .await;
    let (all, _) = hook(&c.app, &c.token, &rx.url("/all"), json!(["*"])).await;
    let (jobs, _) = hook(&c.app, &c.token, &rx.url("/jobs"), json!(["job.failed"])).await;
    c.chat(json!({"message": "hi"})).await.expect(200);
    // Written in the turn's transaction, which commits before the reply: no waiting.
    assert_eq!(events_of(&c.app, &c.token, &done).await, ["chat.completed"]);
    assert_eq!(
        events_of(&c.app, &c.token, &all).await,
        ["chat.completed", "session.created"]
    );
    assert!(events_of(&c.app, &c.token, &jobs).await.is_empty());
    // Each is sent once.
    rx.wait_for(3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut paths: Vec<String> = rx.captured().into_iter().map(|c| c.path).collect();
    paths.sort();
    assert_eq!(paths, ["/all", "/all", "/done"]);
}

#[tokio::test]
async fn a_finished_job_queues_one_delivery_per_subscribed_webhook() {
    let rx = Receiver::start().await;
    let fake = FakeLlm::saying("unused").await;
    let c = chat_app(&fake).await;
    let (a, _) = hook(&c.app, &c.token, &rx.url("/a"), json!(["job.completed"])).await;
    let (b, _) = hook(&c.app, &c.token, &rx.url("/b"), json!(["*"])).await;
    let (f, _) = hook(&c.app, &c.token, &rx.url("/f"), json!(["job.failed"])).await;
    let id = c
        .app
        .post("/jobs", &c.token, json!({"type": "noop"}))
        .await
        .expect(201)
        .id();
    let job: Value = eventually(|| async {
        let r = c
            .app
            .get(&format!("/jobs/{id}"), &c.token)
            .await
            .expect(200);
        (r.body["status"] == "completed").then_some(r.body)
    })
    .await;
    assert_eq!(job["attempts"], 1);
    // The job's end and its event commit together: once the job reads completed, the
    // deliveries are there.
    assert_eq!(events_of(&c.app, &c.token, &a).await, ["job.completed"]);
    assert_eq!(events_of(&c.app, &c.token, &b).await, ["job.completed"]);
    assert!(events_of(&c.app, &c.token, &f).await.is_empty());
    rx.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut paths: Vec<String> = rx.captured().into_iter().map(|c| c.path).collect();
    paths.sort();
    assert_eq!(paths, ["/a", "/b"]);
    let got = rx.captured();
    assert!(got.iter().all(|c| c.json()["data"]["jobId"] == id.as_str()));
}
