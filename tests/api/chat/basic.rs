//! JSON and SSE replies, their shapes, input validation and provider failures.

use crate::helpers::{Answer, ChatReply, FakeLlm, chat_app, names};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn json_reply_has_the_seed_shape() {
    let fake = FakeLlm::saying("Hello there").await;
    let c = chat_app(&fake).await;
    let r = c.chat(json!({"message": "Hi"})).await.expect(200);
    let reply: ChatReply = r.json();
    assert_eq!(reply.content, "Hello there");
    assert!(reply.session_id.starts_with("ses_"));
    assert!(reply.tools_used.is_empty());
    let usage = &r.body["usage"];
    assert_eq!(usage.as_object().map(|u| u.len()), Some(3), "{usage}");
    assert_eq!(
        (reply.usage.prompt_tokens, reply.usage.completion_tokens),
        (10, 5)
    );
    assert_eq!(reply.usage.total_tokens, 15);
    let req = fake.last_request();
    assert_eq!(req["model"], "gpt-4o-mini");
    assert_eq!(req["stream"], true);
    let messages = req["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages.last().unwrap()["content"], "Hi");
}

#[tokio::test]
async fn sse_emits_the_seed_events_in_order() {
    let fake = FakeLlm::start(|_, _| Answer::chunks(&["Hel", "lo"])).await;
    let c = chat_app(&fake).await;
    let (status, events) = c.stream(json!({"message": "Hi"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&events),
        ["session_resolved", "content", "content", "done"]
    );
    assert_eq!(events[0].1["isNew"], true);
    let session = events[0].1["sessionId"].as_str().unwrap().to_string();
    assert_eq!(events[1].1, json!({"content": "Hel"}));
    let done = &events[3].1;
    assert_eq!(done["content"], "Hello");
    assert_eq!(done["sessionId"], session.as_str());
    assert_eq!(done["usage"]["totalTokens"], 15);
    assert_eq!(done["toolsUsed"], json!([]));
    // The JSON endpoint folds the same stream into the same session.
    let r = c.chat(json!({"message": "again"})).await.expect(200);
    assert_eq!(r.body["sessionId"], session.as_str());
}

#[tokio::test]
async fn bad_bodies_are_rejected_before_any_inference() {
    let fake = FakeLlm::saying("x").await;
    let c = chat_app(&fake).await;
    for body in [
        json!({"message": ""}),
        json!({"message": "x".repeat(10_001)}),
        json!({}),
        json!({"message": "hi", "surface": "radio"}),
        json!({"message": "hi", "agentId": ""}),
        json!({"message": 5}),
    ] {
        let r = c
            .chat(body.clone())
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"].is_object(), "{body}: {}", r.text);
    }
    let r = c.chat(json!({"message": "hi", "surface": "radio"})).await;
    assert!(r.body["details"]["surface"].is_string(), "{}", r.text);
    c.chat(json!({"message": "x".repeat(10_000)}))
        .await
        .expect(200);
    let (status, _) = c
        .stream(json!({"message": "hi", "webhookUrl": "http://127.0.0.1:9/hook"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn provider_failures_map_to_stable_errors() {
    let fake = FakeLlm::start(|_, _| Answer::error(500)).await;
    let c = chat_app(&fake).await;
    c.chat(json!({"message": "hi"}))
        .await
        .expect_error(502, "PROVIDER_ERROR");
    let (status, events) = c.stream(json!({"message": "hi"})).await;
    assert_eq!(status, 200);
    assert_eq!(names(&events), ["session_resolved", "error"]);
    assert_eq!(events[1].1["code"], "PROVIDER_ERROR");
    assert!(events[1].1["message"].is_string());
    // Retries happened (maxRetries 1 → 2 attempts per call).
    assert_eq!(fake.hits(), 4);
}

#[tokio::test]
async fn agent_health_is_public() {
    let fake = FakeLlm::saying("x").await;
    let c = chat_app(&fake).await;
    let r = c
        .app
        .send(Method::GET, "/agent/health", None, &[])
        .await
        .expect(200);
    assert_eq!(r.body, json!({"status": "ok"}));
    c.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &[],
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
}
