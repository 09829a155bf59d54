//! Ordered shutdown: on the signal the server stops accepting and the background workers stop
//! claiming at once; running turns get `ASTRA_SHUTDOWN_GRACE`, after which they are cut —
//! saved as incomplete and billed, their stream ending with an `error` event.

use std::time::{Duration, Instant};

use astra::with_pool;
use serde_json::json;

use crate::helpers::*;

/// A turn whose model keeps streaming for ~20 s, far past the grace.
async fn endless_model() -> FakeLlm {
    FakeLlm::start(|_, _| {
        let chunks: Vec<String> = (0..200).map(|i| format!("w{i} ")).collect();
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        Answer::chunks(&refs).slow(Duration::from_millis(100))
    })
    .await
}

#[tokio::test]
async fn shutdown_cuts_a_turn_after_the_grace_saves_it_incomplete_and_billed_and_claims_nothing() {
    let fake = endless_model().await;
    let grace = Duration::from_millis(1500);
    let mut c = chat_app_with(&fake, |cfg| cfg.shutdown_grace = grace).await;
    // A job that falls due while the server is still draining (the stream below is open):
    // a worker still claiming would run it.
    let due = chrono::Utc::now() + chrono::Duration::milliseconds(900);
    let job = c
        .app
        .post_as(
            &c.user,
            "/jobs",
            json!({"type": "noop", "runAt": due.to_rfc3339()}),
        )
        .await
        .expect(201)
        .id();
    let mut res = c.stream_request(json!({"message": "talk forever"})).await;
    let mut seen = String::new();
    while !seen.contains("event: content") {
        let chunk = res.chunk().await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let signalled = Instant::now();
    let stopped = c.app.signal_shutdown();
    // The stream stays open through the grace, then ends with an `error` event.
    while let Some(chunk) = res.chunk().await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let cut_after = signalled.elapsed();
    let events = parse_sse(&seen);
    let (last, data) = events.last().expect("events");
    assert_eq!(last, "error", "{seen}");
    assert_eq!(data["code"], "SERVICE_UNAVAILABLE", "{data}");
    assert!(
        cut_after >= grace,
        "cut before the grace ran out: {cut_after:?}"
    );
    assert!(
        !names(&events).contains(&"done"),
        "the turn was not cut: {seen}"
    );
    stopped.await.expect("join").expect("run");
    let session = events[0].1["sessionId"].as_str().unwrap().to_string();
    let store = c.store().await;
    let (content, incomplete): (String, bool) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT content, incomplete FROM messages WHERE session_id = $1 AND role = 'assistant'").bind(&session).fetch_one(p).await.unwrap()
    });
    assert!(incomplete);
    assert!(content.starts_with("w0"), "{content}");
    let users: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE session_id = $1 AND role = 'user'").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(users, 1);
    let (status, tokens): (String, i64) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT status, prompt_tokens + completion_tokens FROM traces WHERE session_id = $1").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(status, "shutdown");
    assert!(tokens > 0);
    let billed: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE session_id = $1 AND completion_tokens > 0").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(billed, 1);
    // The job fell due during the drain and was left for the next start: not claimed.
    let (job_status, attempts): (String, i64) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT status, attempts FROM jobs WHERE id = $1").bind(&job).fetch_one(p).await.unwrap()
    });
    assert_eq!((job_status.as_str(), attempts), ("pending", 0));
}

#[tokio::test]
async fn shutdown_waits_for_a_turn_that_ends_within_the_grace() {
    let fake = FakeLlm::start(|_, _| {
        Answer::chunks(&["a", "b", "c", "d", "e"]).slow(Duration::from_millis(100))
    })
    .await;
    let mut c = chat_app_with(&fake, |cfg| cfg.shutdown_grace = Duration::from_secs(20)).await;
    let mut res = c.stream_request(json!({"message": "short"})).await;
    let mut seen = String::new();
    while !seen.contains("event: content") {
        let chunk = res.chunk().await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let stopped = c.app.signal_shutdown();
    while let Some(chunk) = res.chunk().await.unwrap() {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let events = parse_sse(&seen);
    assert_eq!(events.last().expect("events").0, "done", "{seen}");
    stopped.await.expect("join").expect("run");
    let session = events[0].1["sessionId"].as_str().unwrap().to_string();
    let store = c.store().await;
    let status: String = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT status FROM traces WHERE session_id = $1").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(status, "ok");
}
