//! Crash tests with the real binary (`CARGO_BIN_EXE_astra`): the gateway is SIGKILLed in the
//! middle of some work and started again on the same database (SQLite file, or the test's own
//! PostgreSQL database); the receivers and the database then show what the README promises.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use astra::with_pool;
use chrono::Utc;
use serde_json::{Value, json};

use crate::{
    helpers::*,
    webhooks::receiver::{Receiver, eventually},
};

/// One `astra serve` process (SIGKILLed when dropped, so a failing test leaves none behind).
struct Proc {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Proc {
    /// Starts the binary on a free port against `db` and waits until it is ready.
    async fn start(db: &TestDb, extra: &[(&str, String)]) -> Proc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_astra"));
        cmd.arg("serve")
            .env_clear()
            .current_dir(&db.data_dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ASTRA_DATA_DIR", &db.data_dir)
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .env("INTERNAL_API_KEY", TEST_INTERNAL_KEY)
            .env("ASTRA_ALLOW_PRIVATE_URLS", "true")
            .env("ASTRA_PASSWORD_MEMORY_KIB", "64")
            .env("ASTRA_LIMITS_AUTH_PER_MINUTE", "0")
            .env("ASTRA_WORKER_POLL_MS", "50")
            .env("ASTRA_JOB_RETRY_BASE_MS", "50")
            .env("ASTRA_WEBHOOK_RETRY_BASE_MS", "20")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(url) = &db.url {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn astra");
        let p = Proc {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        for _ in 0..400 {
            if let Ok(r) = p.client.get(p.url("/readiness")).send().await
                && r.status() == 200
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("astra never became ready");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL, and wait for the process to be gone.
    async fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&(String, String)>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some((token, ws)) = user {
            req = req.bearer_auth(token).header("x-workspace-id", ws);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Registers a user and runs onboarding; (token, workspace id).
    async fn user(&self) -> (String, String) {
        let (s, b) = self
            .call(
                reqwest::Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": unique_email("crash"), "password": "correct-horse"})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let token = b["accessToken"].as_str().unwrap().to_string();
        let r = self
            .client
            .post(self.url("/onboarding/setup"))
            .bearer_auth(&token)
            .json(&json!({"workspaceName": "crash"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let b: Value = r.json().await.unwrap();
        (token, b["workspace"]["id"].as_str().unwrap().to_string())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment of a gateway whose default model is the fake at `base_url`.
fn fake_model_env(base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_API_KEY", "test-key".to_string()),
        ("OPENAI_BASE_URL", base_url.to_string()),
        ("ASTRA_DEFAULT_PROVIDER", "openai".to_string()),
        ("ASTRA_DEFAULT_MODEL", "gpt-4o-mini".to_string()),
    ]
}

impl Proc {
    /// `POST /agent/chat` with a `webhookUrl`, expecting the 202; (delivery id, session id).
    async fn chat_with_hook(
        &self,
        user: &(String, String),
        message: &str,
        hook: String,
    ) -> (String, String) {
        let (s, b) = self
            .call(
                reqwest::Method::POST,
                "/agent/chat",
                Some(user),
                Some(json!({"message": message, "webhookUrl": hook})),
            )
            .await;
        assert_eq!(s, 202, "{b}");
        let id = |k: &str| b[k].as_str().unwrap().to_string();
        (id("deliveryId"), id("sessionId"))
    }
}

/// The user messages stored in `session`, oldest first.
async fn user_messages(store: &astra::store::Store, session: &str) -> Vec<String> {
    with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT content FROM messages WHERE session_id = $1 AND role = 'user' ORDER BY created_at")
            .bind(session).fetch_all(p).await.unwrap()
    })
}

/// The test's own handle on the database the processes share.
async fn store(db: &TestDb) -> astra::store::Store {
    astra::store::Store::connect(&(&test_config(db)).into())
        .await
        .expect("store")
}

#[tokio::test]
async fn sigkill_during_a_jobs_http_request_repeats_it_once_under_the_same_key() {
    let db = TestDb::new().await;
    let rx = Receiver::start().await;
    // The first request hangs: the process is killed while it is in flight.
    rx.delay(Duration::from_secs(60));
    let first = Proc::start(&db, &[]).await;
    let user = first.user().await;
    let (s, b) = first
        .call(
            reqwest::Method::POST,
            "/jobs",
            Some(&user),
            Some(json!({"type": "http_request", "maxRetries": 2,
                        "payload": {"method": "POST", "url": rx.url("/charge"), "body": {"amount": 5}}})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    rx.wait_for(1).await;
    first.kill().await;
    rx.delay(Duration::ZERO);
    // The dead attempt's lease (the job's timeout + 60 s) runs out: moved to now rather than
    // waited for.
    let store = store(&db).await;
    store
        .jobs()
        .set_job_lease(&id, 1, Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    let second = Proc::start(&db, &[]).await;
    let job = eventually(|| async {
        let (_, j) = second
            .call(
                reqwest::Method::GET,
                &format!("/jobs/{id}"),
                Some(&user),
                None,
            )
            .await;
        (j["status"] == "completed").then_some(j)
    })
    .await;
    assert_eq!(job["attempts"], 2, "{job}");
    let got = rx.wait_for(2).await;
    assert_eq!(got.len(), 2, "sent once per attempt: {}", got.len());
    // At-least-once, exactly-once in effect for a receiver keyed on Idempotency-Key.
    assert!(got.iter().all(|c| c.header("idempotency-key") == id));
    let mut attempts: Vec<&str> = got.iter().map(|c| c.header("x-astra-attempt-id")).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [format!("{id}:1"), format!("{id}:2")]);
    // One job.completed-worthy end: the job is not run a third time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.captured().len(), 2);
    second.kill().await;
}

#[tokio::test]
async fn sigkill_during_a_streaming_turn_keeps_the_user_message_and_the_session_usable() {
    let db = TestDb::new().await;
    let fake = FakeLlm::start(|_, _| {
        let chunks: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        Answer::chunks(&refs).slow(Duration::from_millis(100))
    })
    .await;
    let llm = fake_model_env(&fake.base_url);
    let first = Proc::start(&db, &llm).await;
    let user = first.user().await;
    let mut res = first
        .client
        .post(first.url("/agent/chat/stream"))
        .bearer_auth(&user.0)
        .header("x-workspace-id", &user.1)
        .json(&json!({"message": "remember the killed turn"}))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while !seen.contains("event: content") {
        let chunk = res.chunk().await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let session = parse_sse(&seen)[0].1["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    first.kill().await;
    // The connection died with the process: the client saw no `done`.
    while let Ok(Some(chunk)) = res.chunk().await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("event: done"), "{seen}");
    let second = Proc::start(&db, &llm).await;
    let store = store(&db).await;
    assert_eq!(
        user_messages(&store, &session).await,
        ["remember the killed turn"],
        "the accepted user message is stored once"
    );
    // The killed turn recorded nothing (no trace, no usage): a SIGKILL loses the tokens it used.
    let traces: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM traces WHERE session_id = $1").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(traces, 0);
    // The session goes on after the restart.
    let (s, b) = second
        .call(
            reqwest::Method::POST,
            "/agent/chat",
            Some(&user),
            Some(json!({"message": "again", "sessionId": session})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["sessionId"], session.as_str());
    second.kill().await;
}

#[tokio::test]
async fn sigkill_during_a_webhook_retry_series_resumes_it_under_the_same_delivery_id() {
    let db = TestDb::new().await;
    let rx = Receiver::start().await;
    rx.always_answer(500);
    // Retries 300 ms, 600 ms, … apart: the process is killed between two of them.
    let slow_retries = [("ASTRA_WEBHOOK_RETRY_BASE_MS", "300".to_string())];
    let first = Proc::start(&db, &slow_retries).await;
    let user = first.user().await;
    let (s, b) = first
        .call(
            reqwest::Method::POST,
            "/webhooks",
            Some(&user),
            Some(json!({"url": rx.url("/hook"), "events": ["job.completed"]})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = first
        .call(
            reqwest::Method::POST,
            "/jobs",
            Some(&user),
            Some(json!({"type": "noop"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let job = b["id"].as_str().unwrap().to_string();
    rx.wait_for(2).await;
    first.kill().await;
    let before = rx.captured().len();
    rx.always_answer(200);
    // A send the kill cut keeps its claim until the 60 s lease runs out: moved to now.
    let store = store(&db).await;
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE webhook_deliveries SET locked_until = $1 WHERE status = 'sending'")
            .bind(Utc::now() - chrono::Duration::seconds(1)).execute(p).await.unwrap().rows_affected()
    });
    let second = Proc::start(&db, &slow_retries).await;
    let got = rx.wait_for(before + 1).await;
    let (status, attempts): (String, i64) = eventually(|| async {
        let row: (String, i64) = with_pool!(store.pool(), p => {
            sqlx::query_as("SELECT status, attempts FROM webhook_deliveries").fetch_one(p).await.unwrap()
        });
        (row.0 == "delivered").then_some(row)
    })
    .await;
    assert_eq!(status, "delivered");
    // One event, one delivery id on every attempt, before and after the crash.
    let ids: Vec<&str> = got.iter().map(|c| c.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|i| *i == ids[0] && i.starts_with("whd_")),
        "{ids:?}"
    );
    assert!(got.iter().all(|c| c.header("x-astra-delivery") == ids[0]));
    assert!(
        got.iter()
            .all(|c| c.json()["data"]["jobId"] == job.as_str())
    );
    assert_eq!(usize::try_from(attempts).unwrap(), got.len());
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(rx.captured().len(), got.len(), "nothing after the delivery");
    second.kill().await;
}

#[tokio::test]
async fn sigkill_while_a_webhook_url_reply_is_retried_delivers_it_after_the_restart() {
    let db = TestDb::new().await;
    let rx = Receiver::start().await;
    rx.always_answer(500);
    let fake = FakeLlm::saying("the durable reply").await;
    // Retries 300 ms, 600 ms, … apart: the process is killed between two of them.
    let mut env = fake_model_env(&fake.base_url);
    env.push(("ASTRA_WEBHOOK_RETRY_BASE_MS", "300".to_string()));
    let first = Proc::start(&db, &env).await;
    let user = first.user().await;
    let (delivery, session) = first
        .chat_with_hook(&user, "reply to my hook", rx.url("/reply"))
        .await;
    rx.wait_for(2).await;
    first.kill().await;
    let before = rx.captured().len();
    rx.always_answer(200);
    // A send the kill cut keeps its claim until the 60 s lease runs out: moved to now.
    let store = store(&db).await;
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE reply_deliveries SET locked_until = $1 WHERE status = 'sending'")
            .bind(Utc::now() - chrono::Duration::seconds(1)).execute(p).await.unwrap().rows_affected()
    });
    let second = Proc::start(&db, &env).await;
    let got = rx.wait_for(before + 1).await;
    let row = eventually(|| async {
        let (_, d) = second
            .call(
                reqwest::Method::GET,
                &format!("/users/me/reply-deliveries/{delivery}"),
                Some(&user),
                None,
            )
            .await;
        (d["status"] == "delivered").then_some(d)
    })
    .await;
    // One reply, one delivery id on every attempt before and after the crash: the 202's.
    assert!(
        got.iter().all(|c| c.header("webhook-id") == delivery),
        "{delivery}"
    );
    assert!(
        got.iter()
            .all(|c| c.json()["content"] == "the durable reply")
    );
    assert!(
        got.iter()
            .all(|c| c.json()["sessionId"] == session.as_str())
    );
    assert_eq!(row["attempts"], got.len(), "{row}");
    // The user message is stored once and the turn's tokens are billed.
    assert_eq!(user_messages(&store, &session).await, ["reply to my hook"]);
    let billed: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT) FROM usage_records WHERE session_id = $1")
            .bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(billed, 15);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(rx.captured().len(), got.len(), "nothing after the delivery");
    second.kill().await;
}

#[tokio::test]
async fn sigkill_during_a_webhook_url_turn_answers_the_hook_with_an_error_after_the_restart() {
    let db = TestDb::new().await;
    let rx = Receiver::start().await;
    // The model never answers in time: the process dies mid-inference.
    let fake = FakeLlm::always(Reply::Answer(
        Answer::text("never").slow(Duration::from_secs(60)),
    ))
    .await;
    let env = fake_model_env(&fake.base_url);
    let first = Proc::start(&db, &env).await;
    let user = first.user().await;
    let (delivery, session) = first
        .chat_with_hook(&user, "answer my hook", rx.url("/reply"))
        .await;
    eventually(|| async { (fake.hits() >= 1).then_some(()) }).await;
    // Accepted and visible while the turn runs.
    let path = format!("/users/me/reply-deliveries/{delivery}");
    let (s, d) = first
        .call(reqwest::Method::GET, &path, Some(&user), None)
        .await;
    assert_eq!((s, d["status"].as_str()), (200, Some("running")), "{d}");
    first.kill().await;
    // The placeholder is released at the turn's deadline (request timeout + 60 s): moved to now.
    let store = store(&db).await;
    let moved = with_pool!(store.pool(), p => {
        sqlx::query("UPDATE reply_deliveries SET next_attempt_at = $1 WHERE status = 'running'")
            .bind(Utc::now() - chrono::Duration::seconds(1)).execute(p).await.unwrap().rows_affected()
    });
    assert_eq!(moved, 1);
    let second = Proc::start(&db, &env).await;
    let got = rx.wait_for(1).await;
    // The hook hears that the turn was lost, under the 202's delivery id.
    assert_eq!(got[0].header("webhook-id"), delivery);
    assert_eq!(
        got[0].json()["code"],
        "SERVICE_UNAVAILABLE",
        "{}",
        got[0].json()
    );
    let row = eventually(|| async {
        let (_, d) = second
            .call(reqwest::Method::GET, &path, Some(&user), None)
            .await;
        (d["status"] == "delivered").then_some(d)
    })
    .await;
    assert_eq!(row["attempts"], 1, "{row}");
    // The user message is kept; nothing was billed for the lost turn.
    assert_eq!(user_messages(&store, &session).await, ["answer my hook"]);
    let billed: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE session_id = $1")
            .bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(billed, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.captured().len(), 1, "one answer");
    second.kill().await;
}
