//! `X-Idempotency-Key`: replay, reuse with another body, concurrent duplicates.

use crate::helpers::{Answer, FakeLlm, chat_app};
use std::time::Duration;

use serde_json::json;

#[tokio::test]
async fn a_repeat_replays_without_running_the_agent() {
    let fake = FakeLlm::start(|_, n| Answer::text(&format!("answer {n}"))).await;
    let c = chat_app(&fake).await;
    let key = [("x-idempotency-key", "key-1")];
    let a = c
        .chat_with(json!({"message": "hi"}), &key)
        .await
        .expect(200);
    let b = c
        .chat_with(json!({"message": "hi"}), &key)
        .await
        .expect(200);
    assert_eq!(a.body, b.body);
    assert_eq!(fake.hits(), 1);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    // Without a key the agent runs again.
    let d = c.chat(json!({"message": "hi"})).await.expect(200);
    assert_eq!(d.body["content"], "answer 1");
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let key = [("x-idempotency-key", "key-2")];
    c.chat_with(json!({"message": "hi"}), &key)
        .await
        .expect(200);
    c.chat_with(json!({"message": "different"}), &key)
        .await
        .expect_error(422, "IDEMPOTENCY_KEY_REUSED");
    c.chat_with(json!({"message": "hi"}), &[("x-idempotency-key", "")])
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let long = "k".repeat(256);
    c.chat_with(
        json!({"message": "hi"}),
        &[("x-idempotency-key", long.as_str())],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_concurrent_duplicate_waits_for_the_first() {
    let fake = FakeLlm::start(|_, n| {
        Answer::chunks(&["slow ", "answer ", &n.to_string()]).slow(Duration::from_millis(80))
    })
    .await;
    let c = chat_app(&fake).await;
    let key = [("x-idempotency-key", "key-3")];
    let (a, b) = tokio::join!(c.chat_with(json!({"message": "hi"}), &key), async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        c.chat_with(json!({"message": "hi"}), &key).await
    });
    let (a, b) = (a.expect(200), b.expect(200));
    assert_eq!(a.body, b.body);
    assert_eq!(fake.hits(), 1);
}
