//! The job worker: every type runs; failures are retried, time out, and end `failed`; pending
//! jobs are cancelled, running ones are not; job events reach webhooks.

use crate::helpers::{FakeLlm, chat_app};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, User, spawn_app},
    webhooks::receiver::{Receiver, eventually},
};

/// A user with a workspace, and the calls these tests repeat.
struct Jobs {
    app: TestApp,
    user: User,
}

async fn ctx() -> Jobs {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    Jobs { app, user }
}

impl Jobs {
    async fn enqueue(&self, body: Value) -> String {
        self.app
            .post_as(&self.user, "/jobs", body)
            .await
            .expect(201)
            .id()
    }

    async fn job(&self, id: &str) -> Value {
        self.app
            .get_as(&self.user, &format!("/jobs/{id}"))
            .await
            .expect(200)
            .body
    }

    /// Waits for the job to reach `status`.
    async fn until(&self, id: &str, status: &str) -> Value {
        eventually(|| async {
            let j = self.job(id).await;
            (j["status"] == status).then_some(j)
        })
        .await
    }
}

#[tokio::test]
async fn a_noop_job_completes() {
    let c = ctx().await;
    let id = c.enqueue(json!({"type": "noop"})).await;
    let j = c.until(&id, "completed").await;
    assert_eq!(j["result"], json!({"ok": true}));
    assert_eq!(j["attempts"], 1);
    assert!(j["startedAt"].is_string() && j["finishedAt"].is_string());
    assert!(j["error"].is_null());
}

#[tokio::test]
async fn an_http_request_job_calls_the_url_and_retries_a_failure() {
    let rx = Receiver::start().await;
    rx.serve_body("pong", "text/plain");
    rx.then_answer(&[500]);
    let c = ctx().await;
    let id = c
        .enqueue(json!({"type": "http_request", "payload": {
            "method": "POST", "url": rx.url("/ping"), "headers": {"x-test": "1"}, "body": {"a": 1}
        }}))
        .await;
    let j = c.until(&id, "completed").await;
    assert_eq!(j["attempts"], 2);
    assert_eq!(j["result"]["status"], 200);
    assert_eq!(j["result"]["body"], "pong");
    let got = rx.captured();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].method, Method::POST);
    assert_eq!(got[1].header("x-test"), "1");
    assert_eq!(got[1].json(), json!({"a": 1}));
}

#[tokio::test]
async fn a_job_fails_after_its_retries() {
    let rx = Receiver::start().await;
    rx.always_answer(500);
    let c = ctx().await;
    let events = Receiver::start().await;
    c.app
        .post(
            "/webhooks",
            &c.user.token,
            json!({"url": events.url("/e"), "events": ["job.failed", "job.completed"]}),
        )
        .await
        .expect(201);
    let id = c
        .enqueue(json!({"type": "http_request", "maxRetries": 1, "payload": {"method": "GET", "url": rx.url("/x")}}))
        .await;
    let j = c.until(&id, "failed").await;
    assert_eq!(j["attempts"], 2);
    assert!(j["error"].as_str().unwrap().contains("HTTP 500"), "{j}");
    assert_eq!(rx.captured().len(), 2);
    let got = events.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["event"], "job.failed");
    assert_eq!(body["data"]["jobId"], id.as_str());
    assert_eq!(body["data"]["attempts"], 2);
}

#[tokio::test]
async fn a_job_past_its_timeout_fails() {
    let rx = Receiver::start().await;
    rx.delay(Duration::from_secs(5));
    let c = ctx().await;
    let id = c
        .enqueue(json!({"type": "http_request", "maxRetries": 0, "timeoutSeconds": 1, "payload": {"method": "GET", "url": rx.url("/slow")}}))
        .await;
    let j = c.until(&id, "failed").await;
    assert_eq!(j["attempts"], 1);
    assert!(j["error"].as_str().unwrap().contains("timed out"), "{j}");
}

#[tokio::test]
async fn a_running_job_cannot_be_cancelled() {
    let rx = Receiver::start().await;
    rx.delay(Duration::from_millis(1500));
    let c = ctx().await;
    let id = c
        .enqueue(
            json!({"type": "http_request", "payload": {"method": "GET", "url": rx.url("/busy")}}),
        )
        .await;
    c.until(&id, "running").await;
    let path = format!("/jobs/{id}");
    c.app
        .send_ws(Method::DELETE, &path, &c.user.token, &c.user.ws, None)
        .await
        .expect_error(409, "CONFLICT");
    c.until(&id, "completed").await;
    c.app
        .send_ws(Method::DELETE, &path, &c.user.token, &c.user.ws, None)
        .await
        .expect_error(409, "CONFLICT");
}

#[tokio::test]
async fn a_cancelled_job_never_runs() {
    let rx = Receiver::start().await;
    let c = ctx().await;
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(600)).to_rfc3339();
    let id = c
        .enqueue(json!({"type": "http_request", "runAt": soon, "payload": {"method": "GET", "url": rx.url("/never")}}))
        .await;
    let r = c
        .app
        .send_ws(
            Method::DELETE,
            &format!("/jobs/{id}"),
            &c.user.token,
            &c.user.ws,
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "cancelled");
    // A later job runs, so the worker has passed the cancelled one's due time.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let other = c.enqueue(json!({"type": "noop"})).await;
    c.until(&other, "completed").await;
    assert_eq!(c.job(&id).await["status"], "cancelled");
    assert!(rx.captured().is_empty());
}

#[tokio::test]
async fn a_webhook_emit_job_queues_the_event() {
    let events = Receiver::start().await;
    let c = ctx().await;
    c.app
        .post(
            "/webhooks",
            &c.user.token,
            json!({"url": events.url("/e"), "events": ["heartbeat.failed"]}),
        )
        .await
        .expect(201);
    let id = c
        .enqueue(json!({"type": "webhook_emit", "payload": {"event": "heartbeat.failed", "data": {"why": "test"}}}))
        .await;
    let j = c.until(&id, "completed").await;
    assert_eq!(
        j["result"],
        json!({"event": "heartbeat.failed", "deliveries": 1})
    );
    let got = events.wait_for(1).await;
    assert_eq!(got[0].json()["data"], json!({"why": "test"}));
}

#[tokio::test]
async fn an_agent_run_job_runs_one_turn() {
    let fake = FakeLlm::saying("job reply").await;
    let chat = chat_app(&fake).await;
    let c = Jobs {
        app: chat.app,
        user: chat.user,
    };
    let id = c
        .enqueue(
            json!({"type": "agent_run", "payload": {"agentId": "chad", "message": "do the thing"}}),
        )
        .await;
    let j = c.until(&id, "completed").await;
    assert_eq!(j["result"]["content"], "job reply");
    assert!(
        j["result"]["sessionId"]
            .as_str()
            .unwrap()
            .starts_with("ses_")
    );
    assert_eq!(j["result"]["usage"]["totalTokens"], 15);
    // An unknown agent fails the job with the resolver's message.
    let id = c
        .enqueue(json!({"type": "agent_run", "maxRetries": 0, "payload": {"agentId": "ghost", "message": "hi"}}))
        .await;
    let j = c.until(&id, "failed").await;
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("not found"),
        "{j}"
    );
}
