//! Anthropic Messages wire format.

use astra::providers::{
    ChatRequest, FinishReason, Message, ProviderError, Role, ToolCall, ToolSpec, Usage, collect,
};
use serde_json::{Value, json};

use super::support::{ask, registry};
use crate::helpers::{FakeLlm, Reply};

fn ev(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn claude(fake: &FakeLlm) -> std::sync::Arc<dyn astra::providers::Provider> {
    let reg = registry(
        json!({}),
        &[
            ("ANTHROPIC_API_KEY", "ak-test"),
            ("ANTHROPIC_BASE_URL", &fake.url),
        ],
    );
    reg.get("claude", None).unwrap()
}

fn opening() -> Vec<String> {
    vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "role": "assistant",
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 0, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ev("ping", json!({"type": "ping"})),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me "}}),
        ),
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "check."}}),
        ),
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
    ]
}

#[tokio::test]
async fn anthropic_streams_text_tool_use_and_usage() {
    let mut events = opening();
    events.extend([
        ev("content_block_start", json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Oslo\"}"}})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}})),
        ev("message_stop", json!({"type": "message_stop"})),
    ]);
    let fake = FakeLlm::scripted(vec![Reply::sse(events)]).await;
    let req = ChatRequest {
        model: "claude-sonnet-4-5".into(),
        messages: vec![
            Message::text(Role::System, "You are terse."),
            Message::text(Role::User, "Weather in Oslo and Rome?"),
            Message {
                role: Role::Assistant,
                content: "Checking.".into(),
                tool_calls: vec![
                    ToolCall {
                        id: "toolu_a".into(),
                        name: "get_weather".into(),
                        arguments: "{\"city\":\"Rome\"}".into(),
                    },
                    ToolCall {
                        id: "toolu_b".into(),
                        name: "get_time".into(),
                        arguments: String::new(),
                    },
                ],
                tool_call_id: None,
                name: None,
            },
            Message::tool_result("toolu_a", "get_weather", "sunny"),
            Message::tool_result("toolu_b", "get_time", "noon"),
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather".into(),
            parameters: json!({"type": "object"}),
        }],
        max_tokens: None,
        temperature: Some(0.2),
    };
    let resp = collect(claude(&fake).chat_stream(&req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(resp.content, "Let me check.");
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        resp.tool_calls,
        vec![ToolCall {
            id: "toolu_1".into(),
            name: "get_weather".into(),
            arguments: "{\"city\": \"Oslo\"}".into()
        }]
    );
    assert_eq!(
        resp.usage,
        Usage {
            prompt_tokens: 15,
            completion_tokens: 7,
            cached_prompt_tokens: 5
        }
    );

    let got = fake.received(0);
    assert_eq!(got.path_and_query, "/v1/messages");
    assert_eq!(got.header("x-api-key").as_deref(), Some("ak-test"));
    assert_eq!(
        got.header("anthropic-version").as_deref(),
        Some("2023-06-01")
    );
    let body = got.json();
    assert_eq!(body["system"], "You are terse.");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(body["stream"], true);
    assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
    let msgs = body["messages"].as_array().unwrap();
    assert_eq!(
        msgs.len(),
        3,
        "the two tool results merge into one user turn"
    );
    assert_eq!(
        msgs[1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Rome"}})
    );
    assert_eq!(msgs[1]["content"][2]["input"], json!({}));
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(
        msgs[2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"})
    );
    assert_eq!(msgs[2]["content"][1]["tool_use_id"], "toolu_b");
}

#[tokio::test]
async fn anthropic_stream_without_message_stop_is_broken() {
    let fake = FakeLlm::scripted(vec![Reply::sse(opening()), Reply::sse_cut(opening())]).await;
    let provider = claude(&fake);
    for _ in 0..2 {
        let err = collect(
            provider
                .chat_stream(&ask("claude-3-5-haiku-latest", "hi"))
                .await
                .unwrap(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ProviderError::StreamBroken(_)), "{err:?}");
    }
}

#[tokio::test]
async fn anthropic_malformed_event_and_error_event() {
    let mut overloaded = opening();
    overloaded.push(ev(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    let fake = FakeLlm::scripted(vec![
        Reply::sse(vec!["event: message_start\ndata: {oops\n\n".into()]),
        Reply::sse(overloaded),
        Reply::json(401, json!({"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})),
    ])
    .await;
    let provider = claude(&fake);
    let err = collect(provider.chat_stream(&ask("m", "hi")).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
    let err = collect(provider.chat_stream(&ask("m", "hi")).await.unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProviderError::StreamBroken(m) if !m.contains("overloaded_error")),
        "{err:?}"
    );
    let err = provider.chat_stream(&ask("m", "hi")).await.err().unwrap();
    assert_eq!(err, ProviderError::Upstream { status: 401 });
    assert!(matches!(
        provider.embed("m", &["x".into()]).await,
        Err(ProviderError::Unsupported(_))
    ));
}
