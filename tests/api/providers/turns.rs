//! Whole agent turns through the gateway on Bedrock (`converse-stream` frames) and Gemini
//! (compaction through `generateContent`), on the suite's database engine.

use astra::with_pool;
use serde_json::{Value, json};

use super::bedrock::{MODEL, aws_env};
use super::support::config;
use crate::helpers::eventstream::{event, text_delta};
use crate::helpers::{
    Answer, ChatApp, ChatReply, FakeLlm, Reply, UPSTREAM_SECRET_BODY, agent, chat_app_with, names,
};

/// A chat app whose default provider (and so the starter agents') is Bedrock at the fake.
async fn bedrock_app(fake: &FakeLlm) -> ChatApp {
    let env = aws_env(&fake.url);
    chat_app_with(fake, move |c| {
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.inference = config(json!({"retries": {"maxRetries": 1}}), &pairs);
        c.default_provider = "bedrock".into();
        c.default_model = MODEL.into();
    })
    .await
}

/// True when a Converse request carries a tool result block.
fn has_tool_result(request: &Value) -> bool {
    request["messages"].as_array().is_some_and(|m| {
        m.iter().any(|m| {
            m["content"]
                .as_array()
                .is_some_and(|blocks| blocks.iter().any(|b| b.get("toolResult").is_some()))
        })
    })
}

#[tokio::test]
async fn a_bedrock_text_turn_streams_and_records_usage() {
    let fake = FakeLlm::start(|_, _| Answer::chunks(&["Hel", "lo"]).usage(21, 4)).await;
    let c = bedrock_app(&fake).await;
    let (status, events) = c.stream(json!({"message": "Hi"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&events),
        ["session_resolved", "content", "content", "done"]
    );
    assert_eq!(events[3].1["content"], "Hello");
    assert_eq!(events[3].1["usage"]["totalTokens"], 25);
    assert!(fake.received(0).path.ends_with("/converse-stream"));
    let reply: ChatReply = c.chat(json!({"message": "again"})).await.expect(200).json();
    assert_eq!(reply.content, "Hello");
    assert_eq!(
        (reply.usage.prompt_tokens, reply.usage.completion_tokens),
        (21, 4)
    );
    let store = c.store().await;
    let rows: Vec<(String, String, i64, i64, f64)> = with_pool!(store.pool(), p => {
        sqlx::query_as("SELECT provider, model, prompt_tokens, completion_tokens, cost_usd FROM usage_records WHERE user_id = $1").bind(&c.user.id).fetch_all(p).await.unwrap()
    });
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (provider, model, prompt, completion, cost) in rows {
        assert_eq!((provider.as_str(), model.as_str()), ("bedrock", MODEL));
        assert_eq!((prompt, completion), (21, 4));
        // Priced as claude-3-5-sonnet: 3 / 15 USD per million.
        assert!(
            (cost - (21.0 * 3.0 + 4.0 * 15.0) / 1e6).abs() < 1e-12,
            "{cost}"
        );
    }
}

#[tokio::test]
async fn a_bedrock_tool_turn_runs_the_tool_and_feeds_the_result_back() {
    let fake = FakeLlm::start(|req, _| {
        if has_tool_result(req) {
            Answer::text("The answer is 42")
        } else {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        }
    })
    .await;
    let c = bedrock_app(&fake).await;
    let (status, events) = c.stream(json!({"message": "what is 6*7?"})).await;
    assert_eq!(status, 200);
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
    assert_eq!(events[1].1["name"], "calculator");
    assert_eq!(events[1].1["toolCallId"], "tooluse_0_0");
    let args: Value = serde_json::from_str(events[2].1["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"expression": "6*7"}));
    assert_eq!(events[5].1["toolsUsed"], json!(["calculator"]));
    assert_eq!(events[5].1["usage"]["totalTokens"], 19 + 15);
    let second = fake.request(1);
    assert!(
        second["toolConfig"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
    let result = &second["messages"][2]["content"][0]["toolResult"];
    assert_eq!(result["toolUseId"], "tooluse_0_0");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("42"),
        "{result}"
    );
}

#[tokio::test]
async fn a_corrupted_frame_fails_the_turn_with_the_gateways_error() {
    let mut corrupt = text_delta(0, UPSTREAM_SECRET_BODY);
    let last = corrupt.len() - 6;
    corrupt[last] ^= 1;
    let frames = vec![event("messageStart", json!({"role": "assistant"})), corrupt];
    let fake = FakeLlm::always(Reply::frames(frames)).await;
    let c = bedrock_app(&fake).await;
    let r = c
        .chat(json!({"message": "hi"}))
        .await
        .expect_error(502, "PROVIDER_ERROR");
    assert!(!r.text.contains(UPSTREAM_SECRET_BODY), "{}", r.text);
    assert!(r.text.contains("CRC"), "{}", r.text);
    let (status, events) = c.stream(json!({"message": "hi"})).await;
    assert_eq!(status, 200);
    assert_eq!(names(&events), ["session_resolved", "error"]);
    assert_eq!(events[1].1["code"], "PROVIDER_ERROR");
    assert!(!events[1].1.to_string().contains(UPSTREAM_SECRET_BODY));
    // A malformed stream is not retried: one request per turn.
    assert_eq!(fake.hits(), 2);
    // The gateway still serves.
    let health = c.app.send(reqwest::Method::GET, "/health", None, &[]).await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn gemini_compaction_uses_generate_content() {
    let fake = FakeLlm::start(|req, _| {
        let system = req["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap_or_default();
        if system.contains("compress conversations") {
            Answer::text("SUMMARY: the user talked about numbers")
        } else {
            Answer::text(&"reply ".repeat(40))
        }
    })
    .await;
    let url = fake.url.clone();
    let c = chat_app_with(&fake, move |cfg| {
        let inference = json!({"providers": {"gemini": {"apiKey": "g-key", "baseUrl": url}}});
        cfg.inference = config(inference, &[]);
        cfg.default_provider = "gemini".into();
        cfg.default_model = "gemini-2.5-flash".into();
    })
    .await;
    let model = json!({"provider": "gemini", "modelId": "gemini-2.5-flash", "maxContextTokens": 1200, "maxOutputTokens": 100});
    c.create_agent(agent("small", json!({"model": model})))
        .await;
    for i in 0..12 {
        let message = format!("message {i} {}", "word ".repeat(60));
        c.chat(json!({"message": message, "agentId": "small"}))
            .await
            .expect(200);
    }
    let seen = fake.seen();
    let whole: Vec<_> = seen
        .iter()
        .filter(|r| r.path.ends_with(":generateContent"))
        .collect();
    assert!(
        !whole.is_empty(),
        "no compaction over {} requests",
        seen.len()
    );
    for r in &whole {
        let system = r.json()["systemInstruction"]["parts"][0]["text"].to_string();
        assert!(system.contains("compress conversations"), "{system}");
    }
    let streamed = seen
        .iter()
        .filter(|r| r.path.ends_with(":streamGenerateContent"))
        .count();
    assert_eq!(streamed + whole.len(), seen.len());
    let last = fake.last_request();
    let system = last["systemInstruction"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        system.contains("SUMMARY: the user talked about numbers"),
        "{system}"
    );
}
