//! Attempts are counted when claimed and carry an id: an attempt that died (its lease ran out)
//! still counts, a job whose every allowed attempt died ends `failed`, `http_request` retries
//! send the same `Idempotency-Key`, and an `agent_run` whose turn was recorded is not re-run.

use std::time::Duration;

use astra::{store::Store, with_pool};
use chrono::Utc;
use serde_json::{Value, json};

use crate::{
    helpers::{Answer, FakeLlm, TestApp, User, chat_app, has_tool_result, offers_tools, spawn_app},
    webhooks::receiver::{Receiver, eventually},
};

async fn enqueue(app: &TestApp, user: &User, body: Value) -> String {
    app.post_as(user, "/jobs", body).await.expect(201).id()
}

async fn job_in(app: &TestApp, user: &User, id: &str, status: &str) -> Value {
    eventually(|| async {
        let j = app
            .get_as(user, &format!("/jobs/{id}"))
            .await
            .expect(200)
            .body;
        (j["status"] == status).then_some(j)
    })
    .await
}

/// Plays a replica that claims the (only) job and dies: the claim runs at the job's due time
/// `due` and leases it until `lease`.
async fn claim_and_die(store: &Store, due: chrono::DateTime<Utc>, lease: chrono::DateTime<Utc>) {
    let claimed = store.jobs().claim_jobs(due, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "the test's claim took the job");
}

#[tokio::test]
async fn an_attempt_that_died_counts_and_the_retry_names_itself() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let due = Utc::now() + chrono::Duration::hours(1);
    let id = enqueue(
        &app,
        &user,
        json!({
            "type": "http_request", "maxRetries": 1, "runAt": due.to_rfc3339(),
            "payload": {"method": "POST", "url": rx.url("/charge"), "body": {"amount": 5}}
        }),
    )
    .await;
    // Attempt 1 is claimed by a "replica" that dies at once; its lease lapses in 200 ms.
    let store = app.store().await;
    claim_and_die(
        &store,
        due,
        Utc::now() + chrono::Duration::milliseconds(200),
    )
    .await;
    let j = job_in(&app, &user, &id, "completed").await;
    assert_eq!(j["attempts"], 2, "the dead attempt was counted: {j}");
    let got = rx.captured();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("idempotency-key"), id.as_str());
    assert_eq!(got[0].header("x-astra-attempt-id"), format!("{id}:2"));
    // The key is never shown as part of the job: reads show what the creator sent.
    assert!(j["payload"]["headers"].is_null(), "{j}");
}

#[tokio::test]
async fn a_lease_lapsing_mid_request_repeats_it_under_the_same_key() {
    let rx = Receiver::start().await;
    rx.delay(Duration::from_millis(800));
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let id = enqueue(
        &app,
        &user,
        json!({"type": "http_request", "payload": {"method": "GET", "url": rx.url("/slow"),
               "headers": {"x-test": "1"}}}),
    )
    .await;
    rx.wait_for(1).await;
    // The attempt is still waiting on the receiver: its lease runs out (as if its replica
    // were dead), so another claim repeats the request.
    let store = app.store().await;
    store
        .jobs()
        .set_job_lease(&id, 1, Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    let j = job_in(&app, &user, &id, "completed").await;
    assert_eq!(j["attempts"], 2);
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2, "the lapsed attempt was repeated once");
    let keys: Vec<&str> = got.iter().map(|c| c.header("idempotency-key")).collect();
    assert_eq!(
        keys,
        [id.as_str(), id.as_str()],
        "one key for every attempt"
    );
    let mut attempts: Vec<String> = got
        .iter()
        .map(|c| c.header("x-astra-attempt-id").to_string())
        .collect();
    attempts.sort();
    assert_eq!(attempts, [format!("{id}:1"), format!("{id}:2")]);
    assert!(got.iter().all(|c| c.header("x-test") == "1"));
    // The first attempt's late outcome was dropped: the job stays as attempt 2 stored it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let again = app
        .get_as(&user, &format!("/jobs/{id}"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (again["status"].as_str(), again["attempts"].as_i64()),
        (Some("completed"), Some(2))
    );
}

#[tokio::test]
async fn a_creator_chosen_idempotency_key_is_kept() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let id = enqueue(
        &app,
        &user,
        json!({"type": "http_request", "payload": {"method": "GET", "url": rx.url("/k"),
               "headers": {"idempotency-key": "order-17", "X-Astra-Attempt-Id": "forged"}}}),
    )
    .await;
    job_in(&app, &user, &id, "completed").await;
    let got = rx.captured();
    assert_eq!(got[0].header("idempotency-key"), "order-17");
    assert_eq!(got[0].header("x-astra-attempt-id"), format!("{id}:1"));
}

#[tokio::test]
async fn a_job_whose_every_attempt_died_fails_instead_of_running_again() {
    let rx = Receiver::start().await;
    let events = Receiver::start().await;
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    app.post(
        "/webhooks",
        &user.token,
        json!({"url": events.url("/e"), "events": ["job.failed"]}),
    )
    .await
    .expect(201);
    let due = Utc::now() + chrono::Duration::hours(1);
    let id = enqueue(
        &app,
        &user,
        json!({
            "type": "http_request", "maxRetries": 1, "runAt": due.to_rfc3339(),
            "payload": {"method": "GET", "url": rx.url("/crash")}
        }),
    )
    .await;
    let store = app.store().await;
    // Two claims (1 + maxRetries), both by replicas that die: the first holds a long lease,
    // the second claims past it and leases for 200 ms.
    claim_and_die(&store, due, Utc::now() + chrono::Duration::hours(2)).await;
    claim_and_die(
        &store,
        due + chrono::Duration::hours(3),
        Utc::now() + chrono::Duration::milliseconds(200),
    )
    .await;
    let j = job_in(&app, &user, &id, "failed").await;
    assert_eq!(j["attempts"], 2, "{j}");
    assert!(
        j["error"].as_str().unwrap().contains("lease ran out"),
        "{j}"
    );
    assert!(j["finishedAt"].is_string());
    let got = events.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["event"], "job.failed");
    assert_eq!(body["data"]["jobId"], id.as_str());
    assert_eq!(body["data"]["attempts"], 2);
    // It is never claimed again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.captured().is_empty());
    assert_eq!(
        app.get_as(&user, &format!("/jobs/{id}"))
            .await
            .expect(200)
            .body["status"],
        "failed"
    );
}

#[tokio::test]
async fn an_agent_run_whose_turn_was_recorded_is_not_run_again() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("The answer is 42")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let id = enqueue(
        &c.app,
        &c.user,
        json!({"type": "agent_run", "payload": {"agentId": "chad", "message": "6*7?"}}),
    )
    .await;
    let first = job_in(&c.app, &c.user, &id, "completed").await;
    assert_eq!(fake.hits(), 2, "one turn, two rounds");
    assert_eq!(first["result"]["content"], "The answer is 42");
    // The process died after the turn was recorded, before the job's outcome was stored:
    // the job is back to running attempt 1 with its lease run out.
    let store = c.app.store().await;
    let expired = Utc::now() - chrono::Duration::seconds(1);
    let session = first["result"]["sessionId"].as_str().unwrap().to_string();
    let count = |store: Store, session: String| async move {
        let n: i64 = with_pool!(store.pool(), p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE session_id = $1").bind(&session).fetch_one(p).await.unwrap()
        });
        n
    };
    let messages = count(store.clone(), session.clone()).await;
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE jobs SET status = 'running', result = NULL, finished_at = NULL, locked_until = $2 WHERE id = $1")
            .bind(&id).bind(expired).execute(p).await.unwrap();
    });
    let retried = eventually(|| async {
        let j = c
            .app
            .get_as(&c.user, &format!("/jobs/{id}"))
            .await
            .expect(200)
            .body;
        (j["status"] == "completed" && j["attempts"] == 2).then_some(j)
    })
    .await;
    assert_eq!(fake.hits(), 2, "the agent was not called again");
    assert_eq!(
        retried["result"], first["result"],
        "the stored reply is answered"
    );
    assert_eq!(retried["result"]["toolsUsed"], json!(["calculator"]));
    assert_eq!(
        count(store.clone(), session).await,
        messages,
        "nothing new was written"
    );
    // The turn's trace carries the attempt id that marks it.
    let traces = c.app.get_as(&c.user, "/traces").await.expect(200).body;
    let items = traces["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["requestId"], format!("{id}:1"));
}
