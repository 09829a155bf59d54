//! The client's `messages` as the conversation: stateless history and instructions reach the
//! model (and are not stored), a named session is the history instead, the conversation is
//! bounded, and `temperature` / `max_tokens` reach the upstream request.

use serde_json::{Value, json};

use super::{ask, assert_v1_error};
use crate::helpers::{Answer, FakeLlm, chat_app, has_tool_result, offers_tools};

/// `(role, content)` of every message the upstream received.
fn roles_and_texts(request: &Value) -> Vec<(String, String)> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(r, t)| (r.to_string(), t.to_string()))
        .collect()
}

#[tokio::test]
async fn a_stateless_request_sends_its_whole_conversation_to_the_model() {
    let fake = FakeLlm::saying("Your name is Ada").await;
    let c = chat_app(&fake).await;
    let body = json!({"model": "agent/chad", "messages": [
        {"role": "system", "content": "Answer in one sentence."},
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "developer", "content": [{"type": "text", "text": "Be warm."}]},
        {"role": "user", "content": "What is my name?"}]});
    let r = c.complete(body, &[]).await.expect(200);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "Your name is Ada"
    );
    let seen = roles_and_texts(&fake.last_request());
    // The agent's prompt, extended by the client's system and developer messages, then the
    // client's earlier turns, then the new message.
    let (role, system) = &seen[0];
    assert_eq!(role, "system");
    assert!(system.starts_with("You are Chad"), "{system}");
    assert!(
        system.ends_with("Answer in one sentence.\n\nBe warm."),
        "{system}"
    );
    assert_eq!(
        seen[1..],
        pairs(&[
            ("user", "My name is Ada."),
            ("assistant", "Nice to meet you, Ada."),
            ("user", "What is my name?"),
        ])[..]
    );
    // Only what the turn added is stored: the new message and the reply.
    let session = r.body["astra"]["sessionId"].as_str().unwrap();
    let stored = c
        .store()
        .await
        .sessions()
        .session_messages(session, None, 100)
        .await
        .unwrap();
    let stored: Vec<(String, String)> = stored.into_iter().map(|m| (m.role, m.content)).collect();
    assert_eq!(
        stored,
        pairs(&[
            ("user", "What is my name?"),
            ("assistant", "Your name is Ada")
        ])
    );
}

#[tokio::test]
async fn a_named_session_is_the_history_instead_of_the_clients_messages() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let first = c.complete(ask("one"), &[]).await.expect(200);
    let surface = first.body["astra"]["surfaceId"].as_str().unwrap();
    let body = json!({"model": "agent/chad", "messages": [
        {"role": "user", "content": "not in the session"},
        {"role": "assistant", "content": "nor this"},
        {"role": "user", "content": "two"}]});
    let again = c
        .complete(body, &[("x-astra-session", surface)])
        .await
        .expect(200);
    assert_eq!(
        again.body["astra"]["sessionId"],
        first.body["astra"]["sessionId"]
    );
    let seen = roles_and_texts(&fake.last_request());
    assert_eq!(
        seen[1..],
        pairs(&[("user", "one"), ("assistant", "ok"), ("user", "two")])[..]
    );
}

#[tokio::test]
async fn the_conversation_is_bounded_and_well_formed() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"role": "user", "content": format!("m{i}")}))
        .collect();
    let r = c
        .complete(json!({"model": "agent/chad", "messages": many}), &[])
        .await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(r.body["error"]["param"], "messages");
    assert!(r.body["error"]["message"].as_str().unwrap().contains("200"));
    let big = "x".repeat(100_001);
    let huge = json!({"model": "agent/chad", "messages": [
        {"role": "user", "content": big}, {"role": "assistant", "content": big},
        {"role": "user", "content": "hi"}]});
    let r = c.complete(huge, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(r.body["error"]["param"], "messages");
    let tool = json!({"model": "agent/chad", "messages": [
        {"role": "tool", "content": "42", "tool_call_id": "c1"}, {"role": "user", "content": "hi"}]});
    let r = c.complete(tool, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(r.body["error"]["param"], "messages[0].role");
    let ends_with_assistant = json!({"model": "agent/chad", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "prefill"}]});
    let r = c.complete(ends_with_assistant, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    let long = json!({"model": "agent/chad", "messages": [
        {"role": "user", "content": "y".repeat(10_001)}]});
    let r = c.complete(long, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn temperature_and_max_tokens_reach_every_call_of_the_turn() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("42")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let mut body = ask("what is 6*7?");
    body["temperature"] = json!(0.25);
    body["max_tokens"] = json!(77);
    body["user"] = json!("end-user-1");
    c.complete(body, &[]).await.expect(200);
    assert_eq!(fake.hits(), 2);
    for i in 0..2 {
        let req = fake.request(i);
        assert_eq!(req["temperature"], 0.25, "{req}");
        // The OpenAI adapter sends the limit as `max_completion_tokens`.
        assert_eq!(req["max_completion_tokens"], 77, "{req}");
    }
    // max_completion_tokens wins over max_tokens; without overrides the agent's apply.
    let mut both = ask("again");
    both["max_tokens"] = json!(10);
    both["max_completion_tokens"] = json!(20);
    c.complete(both, &[]).await.expect(200);
    assert_eq!(fake.last_request()["max_completion_tokens"], 20);
    c.complete(ask("plain"), &[]).await.expect(200);
    let plain = fake.last_request();
    assert_eq!(plain["max_completion_tokens"], 4096);
    // The agent's 0.7, sent as the f32 the provider request holds.
    assert!((plain["temperature"].as_f64().unwrap() - 0.7).abs() < 1e-6);
}

#[tokio::test]
async fn bad_sampling_values_are_400_naming_the_field() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    for (field, value) in [
        ("temperature", json!(2.5)),
        ("temperature", json!(-1)),
        ("temperature", json!("hot")),
        ("max_tokens", json!(0)),
        ("max_tokens", json!(-5)),
        ("max_completion_tokens", json!(1_000_001)),
    ] {
        let mut body = ask("hi");
        body[field] = value.clone();
        let r = c.complete(body, &[]).await;
        assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
        assert_eq!(r.body["error"]["param"], field, "{field}={value}");
    }
    assert_eq!(fake.hits(), 0);
}
