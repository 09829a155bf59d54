//! The per-session history window cache: a turn on a session this replica served reads no
//! message rows, yet every turn sends exactly the stored history — after another replica
//! wrote to the session, after a reset, a handoff and a compaction.
//!
//! `c.store()` is a second `Store` on the same database with its own caches: writes through it
//! are what another replica's writes look like to the app.

use crate::helpers::{Answer, FakeLlm, agent, chat_app, last_user_text};
use astra::{store::MessageRow, with_pool};
use chrono::Utc;
use serde_json::{Value, json};

/// The non-system message texts of an upstream request, in order.
fn history(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

async fn echo() -> FakeLlm {
    FakeLlm::start(|req, _| Answer::text(&format!("echo {}", last_user_text(req)))).await
}

#[tokio::test]
async fn turns_send_the_stored_history_and_see_another_replicas_writes() {
    let fake = echo().await;
    let c = chat_app(&fake).await;
    let a = c.chat(json!({"message": "one"})).await.expect(200);
    let session = a.body["sessionId"].as_str().unwrap().to_string();
    c.chat(json!({"message": "two"})).await.expect(200);
    c.chat(json!({"message": "three"})).await.expect(200);
    assert_eq!(
        history(&fake.last_request()),
        s(&["one", "echo one", "two", "echo two", "three"])
    );
    // Another replica appends to the session (its own store, its own cache).
    let other = c.store().await;
    let elsewhere = MessageRow {
        id: astra::store::ids::new_id("msg"),
        session_id: session.clone(),
        role: "user".into(),
        content: "from elsewhere".into(),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: Utc::now(),
    };
    other
        .sessions()
        .append_messages(&session, &[elsewhere], Utc::now())
        .await
        .unwrap();
    c.chat(json!({"message": "four"})).await.expect(200);
    assert_eq!(
        history(&fake.last_request()),
        s(&[
            "one",
            "echo one",
            "two",
            "echo two",
            "three",
            "echo three",
            "from elsewhere",
            "four"
        ])
    );
    // And the window the app cached again goes on from there.
    c.chat(json!({"message": "five"})).await.expect(200);
    let sent = history(&fake.last_request());
    assert_eq!(sent[sent.len() - 3..], s(&["four", "echo four", "five"]));
    // The history sent is what is stored (before the last reply).
    let stored: Vec<String> = other
        .sessions()
        .session_messages(&session, None, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    assert_eq!(sent, stored[..stored.len() - 1]);
}

#[tokio::test]
async fn a_turn_on_a_cached_session_reads_no_history_rows() {
    let fake = echo().await;
    let c = chat_app(&fake).await;
    let a = c.chat(json!({"message": "one"})).await.expect(200);
    let session = a.body["sessionId"].as_str().unwrap().to_string();
    // A change that bypasses the store entirely (no count bump): only a turn that reads the
    // rows would see it.
    let store = c.store().await;
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE messages SET content = 'rewritten' WHERE session_id = $1 AND role = 'user'")
            .bind(&session).execute(p).await.unwrap();
    });
    c.chat(json!({"message": "two"})).await.expect(200);
    assert_eq!(
        history(&fake.last_request()),
        s(&["one", "echo one", "two"]),
        "the second turn read its history from the cache"
    );
}

#[tokio::test]
async fn reset_and_handoff_leave_no_stale_history() {
    let fake = echo().await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("helper", json!({}))).await;
    c.chat(json!({"message": "before reset"})).await.expect(200);
    let auth = format!("Bearer {}", c.token);
    c.app
        .send(
            reqwest::Method::POST,
            "/agent/reset",
            Some(json!({"agentId": "chad", "surface": "chat", "surfaceId": "main"})),
            &[("authorization", &auth), ("x-workspace-id", &c.ws)],
        )
        .await
        .expect(200);
    let b = c.chat(json!({"message": "after reset"})).await.expect(200);
    assert_eq!(history(&fake.last_request()), s(&["after reset"]));
    let session = b.body["sessionId"].as_str().unwrap().to_string();
    c.chat(json!({"message": "hello"})).await.expect(200);
    c.app
        .post(
            &format!("/sessions/{session}/handoff"),
            &c.token,
            json!({"agentId": "helper"}),
        )
        .await
        .expect(200);
    let next = c
        .chat(json!({"message": "still there?", "agentId": "helper"}))
        .await
        .expect(200);
    assert_eq!(next.body["sessionId"], session.as_str());
    // The note is a system row (not sent); the rest of the conversation is.
    assert_eq!(
        history(&fake.last_request()),
        s(&[
            "after reset",
            "echo after reset",
            "hello",
            "echo hello",
            "still there?"
        ])
    );
    c.chat(json!({"message": "and now?", "agentId": "helper"}))
        .await
        .expect(200);
    let sent = history(&fake.last_request());
    assert_eq!(
        sent[sent.len() - 3..],
        s(&["still there?", "echo still there?", "and now?"])
    );
}

#[tokio::test]
async fn after_a_compaction_turns_send_what_is_stored_after_the_boundary() {
    let fake = FakeLlm::start(|req, _| {
        let system = req["messages"][0]["content"].as_str().unwrap_or_default();
        if system.contains("compress conversations") {
            Answer::text("SUMMARY")
        } else {
            Answer::text(&format!("reply {}", "word ".repeat(40)))
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("small", json!({"model": {"provider": "openai", "modelId": "gpt-4o-mini", "maxContextTokens": 1200, "maxOutputTokens": 100}}))).await;
    let mut session = String::new();
    for i in 0..14 {
        let r = c
            .chat(json!({"message": format!("m{i} {}", "word ".repeat(60)), "agentId": "small"}))
            .await
            .expect(200);
        session = r.body["sessionId"].as_str().unwrap().to_string();
    }
    let store = c.store().await;
    let row = store.sessions().session(&session).await.unwrap().unwrap();
    assert!(row.summary_until.is_some(), "no compaction happened");
    let stored: Vec<String> = store
        .sessions()
        .session_messages(&session, row.summary_until, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.content)
        .collect();
    // The last turn sent (a suffix of) what is stored after the boundary, ending with its own
    // message, then stored its reply.
    let sent = history(&fake.last_request());
    assert!(!sent.is_empty());
    assert_eq!(
        sent[..],
        stored[stored.len() - 1 - sent.len()..stored.len() - 1]
    );
}
