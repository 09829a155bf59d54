//! Sessions: continuity, reset, idle reset, compaction, presence, client disconnect.

use crate::helpers::{Answer, FakeLlm, agent, chat_app, last_user_text, parse_sse};
use std::time::Duration;

use astra::with_pool;
use chrono::Utc;
use serde_json::{Value, json};

fn contents(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn the_second_message_carries_the_history() {
    let fake =
        FakeLlm::start(|req, _| Answer::text(&format!("echo {}", last_user_text(req)))).await;
    let c = chat_app(&fake).await;
    let a = c.chat(json!({"message": "first"})).await.expect(200);
    let b = c.chat(json!({"message": "second"})).await.expect(200);
    assert_eq!(a.body["sessionId"], b.body["sessionId"]);
    let seen = contents(&fake.request(1));
    assert!(
        seen.contains(&"first".to_string()) && seen.contains(&"echo first".to_string()),
        "{seen:?}"
    );
    // Another surface id is another session.
    let other = c
        .chat(json!({"message": "x", "surfaceId": "side"}))
        .await
        .expect(200);
    assert_ne!(other.body["sessionId"], a.body["sessionId"]);
}

#[tokio::test]
async fn reset_starts_a_new_session() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let a = c.chat(json!({"message": "one"})).await.expect(200);
    let auth = format!("Bearer {}", c.token);
    let r = c
        .app
        .send(
            reqwest::Method::POST,
            "/agent/reset",
            Some(json!({"agentId": "chad", "surface": "chat", "surfaceId": "main"})),
            &[("authorization", &auth), ("x-workspace-id", &c.ws)],
        )
        .await
        .expect(200);
    assert_eq!(r.body["archived"], 1);
    let (_, events) = c.stream(json!({"message": "two"})).await;
    assert_eq!(events[0].1["isNew"], true);
    assert_ne!(events[0].1["sessionId"], a.body["sessionId"]);
    assert_eq!(
        contents(&fake.last_request())
            .iter()
            .filter(|m| *m == "one")
            .count(),
        0
    );
}

#[tokio::test]
async fn an_idle_session_is_archived_and_replaced() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    c.create_agent(agent(
        "idler",
        json!({"session": {"idleTimeoutMinutes": 5, "dailyResetHour": 4}}),
    ))
    .await;
    let a = c
        .chat(json!({"message": "one", "agentId": "idler"}))
        .await
        .expect(200);
    let session = a.body["sessionId"].as_str().unwrap().to_string();
    let store = c.store().await;
    let old = Utc::now() - chrono::Duration::minutes(10);
    with_pool!(store.pool(), p => {
        sqlx::query("UPDATE sessions SET last_active_at = $1, created_at = $1 WHERE id = $2").bind(old).bind(&session).execute(p).await.unwrap();
    });
    let b = c
        .chat(json!({"message": "two", "agentId": "idler"}))
        .await
        .expect(200);
    assert_ne!(b.body["sessionId"], a.body["sessionId"]);
    let status: String = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT status FROM sessions WHERE id = $1").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(status, "archived");
}

#[tokio::test]
async fn long_sessions_are_compacted_into_a_summary() {
    let fake = FakeLlm::start(|req, _| {
        let system = req["messages"][0]["content"].as_str().unwrap_or_default();
        if system.contains("compress conversations") {
            Answer::text("SUMMARY: the user talked about numbers")
        } else {
            Answer::text(&"reply ".repeat(40))
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("small", json!({"model": {"provider": "openai", "modelId": "gpt-4o-mini", "maxContextTokens": 1200, "maxOutputTokens": 100}}))).await;
    for i in 0..12 {
        c.chat(
            json!({"message": format!("message {i} {}", "word ".repeat(60)), "agentId": "small"}),
        )
        .await
        .expect(200);
    }
    let compactions = (0..fake.hits())
        .filter(|i| {
            fake.request(*i)["messages"][0]["content"]
                .as_str()
                .unwrap_or_default()
                .contains("compress conversations")
        })
        .count();
    assert!(
        compactions >= 1,
        "no compaction over {} requests",
        fake.hits()
    );
    let last = fake.last_request();
    assert!(
        last["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("SUMMARY: the user talked about numbers")
    );
    assert!(
        last["messages"].as_array().unwrap().len() < 24,
        "history was not shortened"
    );
}

#[tokio::test]
async fn presence_shows_a_busy_agent_during_a_slow_turn() {
    let fake = FakeLlm::start(|_, _| {
        Answer::chunks(&["a", "b", "c", "d", "e", "f"]).slow(Duration::from_millis(150))
    })
    .await;
    let c = chat_app(&fake).await;
    let body = json!({"message": "slow"});
    let pending = c.stream_request(body);
    let watcher = async {
        for _ in 0..60 {
            let r = c.app.get("/agent/presence", &c.token).await.expect(200);
            if let Some(agent) = r.body["agents"].as_array().and_then(|a| a.first())
                && agent["state"] != "idle"
            {
                return agent.clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("never saw a busy agent");
    };
    let (res, busy) = tokio::join!(pending, watcher);
    assert_eq!(busy["agentId"], "chad");
    assert!(["thinking", "streaming", "tool"].contains(&busy["state"].as_str().unwrap()));
    assert!(busy["sessionId"].is_string() && busy["since"].is_string());
    let _ = res.text().await.unwrap();
    let r = c.app.get("/agent/presence", &c.token).await.expect(200);
    assert_eq!(r.body["agents"][0]["state"], "idle");
}

#[tokio::test]
async fn a_client_leaving_mid_stream_keeps_the_partial_reply_and_bills_it() {
    let fake = FakeLlm::start(|_, _| {
        let chunks: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        Answer::chunks(&refs).slow(Duration::from_millis(50))
    })
    .await;
    let c = chat_app(&fake).await;
    let mut res = c
        .stream_request(json!({"message": "long answer please"}))
        .await;
    let mut seen = String::new();
    while !seen.contains("event: content") {
        let chunk = res.chunk().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let session = parse_sse(&seen)[0].1["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    drop(res);
    let store = c.store().await;
    let mut found = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let rows: Vec<(String, bool)> = with_pool!(store.pool(), p => {
            sqlx::query_as("SELECT content, incomplete FROM messages WHERE session_id = $1 AND role = 'assistant'").bind(&session).fetch_all(p).await.unwrap()
        });
        if let Some(row) = rows.into_iter().next() {
            found = Some(row);
            break;
        }
    }
    let (content, incomplete) = found.expect("partial assistant message saved");
    assert!(incomplete);
    assert!(content.starts_with("w0"), "{content}");
    assert!(
        !content.contains("w39"),
        "the turn ran to the end: {content}"
    );
    let (tokens, status): (i64, String) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT prompt_tokens + completion_tokens, status FROM traces WHERE session_id = $1").bind(&session).fetch_one(p).await.unwrap()
    });
    assert!(tokens > 0);
    assert_eq!(status, "cancelled");
    let billed: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE session_id = $1 AND completion_tokens > 0").bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(billed, 1);
}
