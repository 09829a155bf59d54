//! Turns over `/ws`: the same events, admission and recording as `/agent/chat/stream`, several
//! at once on one socket, cancellation, and presence pushes.

use std::time::Duration;

use astra::with_pool;
use serde_json::{Value, json};

use super::{connect, of_turn};
use crate::helpers::{
    Answer, FakeLlm, chat_app, chat_app_with, has_tool_result, last_user_text, offers_tools,
};

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[tokio::test]
async fn a_tool_using_turn_streams_the_sse_events_with_the_clients_id_and_is_recorded() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("The answer is 42")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let mut ws = connect(&c.app, &c.token).await;
    ws.send(json!({"type": "chat", "id": "t1", "agentId": "chad", "message": "what is 6*7?"}))
        .await;
    let frames = ws.until_end_of("t1").await;
    let events = of_turn(&frames, "t1");
    assert_eq!(
        names(&events),
        [
            "session_resolved",
            "tool_call",
            "tool_call_complete",
            "tool_result",
            "content",
            "done"
        ]
    );
    assert_eq!(events[0].1["isNew"], true);
    assert_eq!(events[1].1["name"], "calculator");
    assert!(events[1].1["toolCallId"].is_string());
    let args: Value = serde_json::from_str(events[2].1["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"expression": "6*7"}));
    assert!(events[3].1["durationMs"].is_number());
    assert_eq!(events[4].1["content"], "The answer is 42");
    let done = &events[5].1;
    assert_eq!(done["content"], "The answer is 42");
    assert_eq!(done["toolsUsed"], json!(["calculator"]));
    assert_eq!(done["usage"]["totalTokens"], 19 + 15);
    let session = done["sessionId"].as_str().unwrap().to_string();
    assert_eq!(events[0].1["sessionId"], session.as_str());
    // Recorded as the HTTP routes record: messages, a trace with its request id, usage.
    let store = c.store().await;
    let (status, request_id): (String, Option<String>) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT status, request_id FROM traces WHERE session_id = $1")
            .bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(status, "ok");
    assert!(request_id.is_some_and(|id| !id.is_empty()));
    let usage: i64 = with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM usage_records WHERE session_id = $1")
            .bind(&session).fetch_one(p).await.unwrap()
    });
    assert_eq!(usage, 2);
    // The next turn of the same conversation reuses the session, as over HTTP.
    ws.send(json!({"type": "chat", "id": "t2", "agentId": "chad", "message": "thanks"}))
        .await;
    let frames = ws.until_end_of("t2").await;
    assert_eq!(of_turn(&frames, "t2")[0].1["sessionId"], session.as_str());
}

#[tokio::test]
async fn two_turns_run_at_once_on_one_socket() {
    let fake = FakeLlm::start(|req, _| {
        let word = if last_user_text(req).contains("first") {
            "alpha"
        } else {
            "beta"
        };
        Answer::chunks(&[word, " one", " two", " three"]).slow(Duration::from_millis(150))
    })
    .await;
    let c = chat_app(&fake).await;
    let mut ws = connect(&c.app, &c.token).await;
    ws.send(json!({"type": "chat", "id": "a", "message": "first", "surfaceId": "s1"}))
        .await;
    ws.send(json!({"type": "chat", "id": "b", "message": "second", "surfaceId": "s2"}))
        .await;
    let mut frames = ws.until_end_of("a").await;
    if !frames.iter().any(|f| f["id"] == "b" && f["type"] == "done") {
        frames.extend(ws.until_end_of("b").await);
    }
    let a = of_turn(&frames, "a");
    let b = of_turn(&frames, "b");
    assert_eq!(a.last().unwrap().1["content"], "alpha one two three");
    assert_eq!(b.last().unwrap().1["content"], "beta one two three");
    assert_ne!(a[0].1["sessionId"], b[0].1["sessionId"]);
    // Interleaved: b was streaming before a finished (each takes ≥ 600 ms).
    let position = |id: &str, kind: &str| {
        frames
            .iter()
            .position(|f| f["id"] == id && f["type"] == kind)
            .unwrap()
    };
    assert!(position("b", "content") < position("a", "done"));
    assert!(position("a", "content") < position("b", "done"));
}

#[tokio::test]
async fn a_cancelled_turn_stops_and_is_recorded_as_cancelled() {
    let fake = FakeLlm::start(|_, _| {
        let chunks: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
        let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
        Answer::chunks(&refs).slow(Duration::from_millis(50))
    })
    .await;
    let c = chat_app(&fake).await;
    let mut ws = connect(&c.app, &c.token).await;
    ws.send(json!({"type": "chat", "id": "c1", "message": "long answer please"}))
        .await;
    let session = loop {
        let frame = ws.next().await;
        if frame["type"] == "session_resolved" {
            break frame["data"]["sessionId"].as_str().unwrap().to_string();
        }
    };
    loop {
        if ws.next().await["type"] == "content" {
            break;
        }
    }
    ws.send(json!({"type": "cancel", "id": "c1"})).await;
    let frames = ws.until_end_of("c1").await;
    let last = frames.last().unwrap();
    assert_eq!(last["type"], "error");
    assert_eq!(last["data"]["code"], "CANCELLED");
    // Nothing of the turn follows, and the socket still answers.
    ws.send(json!({"type": "ping"})).await;
    loop {
        let frame = ws.next().await;
        assert_ne!(frame["id"], "c1", "a cancelled turn went on: {frame}");
        if frame["type"] == "pong" {
            break;
        }
    }
    let store = c.store().await;
    let mut status = String::new();
    for _ in 0..100 {
        let found: Option<String> = with_pool!(store.pool(), p => {
            sqlx::query_scalar("SELECT status FROM traces WHERE session_id = $1")
                .bind(&session).fetch_optional(p).await.unwrap()
        });
        if let Some(found) = found {
            status = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "cancelled");
    let (content, incomplete): (String, bool) = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT content, incomplete FROM messages WHERE session_id = $1 AND role = 'assistant'")
            .bind(&session).fetch_one(p).await.unwrap()
    });
    assert!(incomplete && !content.contains("w39"), "{content}");
    // A cancel for a turn that is not running is refused, the socket stays up.
    ws.send(json!({"type": "cancel", "id": "c1"})).await;
    let frame = ws.next_unprompted().await;
    assert_eq!(
        (frame["id"].as_str(), &frame["data"]["code"]),
        (Some("c1"), &json!("UNKNOWN_TURN"))
    );
}

#[tokio::test]
async fn presence_changes_of_the_callers_agents_are_pushed_to_the_caller_only() {
    let fake =
        FakeLlm::start(|_, _| Answer::chunks(&["a", "b"]).slow(Duration::from_millis(30))).await;
    let c = chat_app(&fake).await;
    let other = c
        .app
        .onboarded_user(&crate::helpers::unique_email("other"))
        .await;
    let mut mine = connect(&c.app, &c.token).await;
    let mut theirs = connect(&c.app, &other.token).await;
    mine.send(json!({"type": "chat", "id": "p1", "message": "hello"}))
        .await;
    let mut frames = mine.until_end_of("p1").await;
    // `idle` is published just before `done` is sent; the two may cross on the socket.
    mine.send(json!({"type": "ping"})).await;
    loop {
        let frame = mine.next().await;
        if frame["type"] == "pong" {
            break;
        }
        frames.push(frame);
    }
    let mut states: Vec<String> = frames
        .iter()
        .filter(|f| f["type"] == "presence")
        .map(|f| {
            assert_eq!(f["data"]["agentId"], "chad");
            assert_eq!(f["data"]["surface"], "chat");
            assert!(f["data"]["since"].is_string() && f["data"]["sessionId"].is_string());
            f["data"]["state"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        states.first().map(String::as_str),
        Some("thinking"),
        "{frames:?}"
    );
    assert!(states.iter().any(|s| s == "streaming"), "{states:?}");
    assert_eq!(states.pop().as_deref(), Some("idle"));
    // The other user's socket saw none of it: its next frame is the answer to its ping.
    theirs.send(json!({"type": "ping"})).await;
    assert_eq!(theirs.next().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn turns_are_admitted_as_over_http_with_per_socket_bounds() {
    let fake =
        FakeLlm::start(|_, _| Answer::chunks(&["x", "y"]).slow(Duration::from_millis(300))).await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.limits.user_per_minute = 2;
        cfg.ws.max_turns = 1;
    })
    .await;
    let mut ws = connect(&c.app, &c.token).await;
    ws.send(json!({"type": "chat", "id": "one", "message": "hi"}))
        .await;
    // The id is taken, and the one turn slot too.
    ws.send(json!({"type": "chat", "id": "one", "message": "again"}))
        .await;
    ws.send(json!({"type": "chat", "id": "two", "message": "more"}))
        .await;
    let frames = ws.until_end_of("one").await;
    let codes: Vec<(&str, &str)> = frames
        .iter()
        .filter(|f| f["type"] == "error")
        .map(|f| {
            (
                f["id"].as_str().unwrap(),
                f["data"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [("one", "DUPLICATE_ID"), ("two", "TOO_MANY_TURNS")],
        "{frames:#?}"
    );
    assert_eq!(frames.last().unwrap()["type"], "done");
    // The per-user limit counts socket turns like HTTP ones: the second one spent it.
    c.chat(json!({"message": "over http"})).await.expect(200);
    ws.send(json!({"type": "chat", "id": "three", "message": "hi"}))
        .await;
    let refused = ws.until_end_of("three").await.pop().unwrap();
    assert_eq!(refused["data"]["code"], "RATE_LIMIT", "{refused}");
    assert!(refused["data"]["requestId"].is_string());
    // Membership is checked per turn, as X-Workspace-Id is on /agent/chat.
    let other = c
        .app
        .onboarded_user(&crate::helpers::unique_email("o"))
        .await;
    ws.send(json!({"type": "chat", "id": "four", "message": "hi", "workspaceId": other.ws}))
        .await;
    let refused = ws.until_end_of("four").await.pop().unwrap();
    assert_eq!(refused["data"]["code"], "FORBIDDEN", "{refused}");
}
