//! OpenAI Chat Completions wire format (and its compatible flavours).

use astra::providers::{
    ChatRequest, FinishReason, Message, ProviderError, Role, StreamEvent, ToolCall, ToolSpec,
    Usage, collect,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::support::{ask, registry};
use crate::helpers::{FakeLlm, Reply, data_events};

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn done() -> String {
    "data: [DONE]\n\n".to_string()
}

async fn openai(fake: &FakeLlm) -> std::sync::Arc<dyn astra::providers::Provider> {
    let reg = registry(
        json!({"providers": {"openai": {"baseUrl": format!("{}/v1", fake.url)}}}),
        &[("OPENAI_API_KEY", "sk-test")],
    );
    reg.get("openai", None).unwrap()
}

#[tokio::test]
async fn openai_streams_text_chunks_and_usage() {
    let mut chunks = data_events(&[
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hel"}), None),
        chunk(json!({"content": "lo"}), None),
        chunk(json!({}), Some("stop")),
        json!({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3,
               "prompt_tokens_details": {"cached_tokens": 2}}}),
    ]);
    chunks.push(done());
    let fake = FakeLlm::scripted(vec![Reply::sse(chunks)]).await;
    let provider = openai(&fake).await;
    let mut req = ask("gpt-4o", "hi");
    req.max_tokens = Some(50);
    let events: Vec<_> = provider.chat_stream(&req).await.unwrap().collect().await;
    let events: Vec<StreamEvent> = events.into_iter().map(Result::unwrap).collect();
    let usage = Usage {
        prompt_tokens: 12,
        completion_tokens: 3,
        cached_prompt_tokens: 2,
    };
    assert_eq!(
        events,
        vec![
            StreamEvent::TextDelta("Hel".into()),
            StreamEvent::TextDelta("lo".into()),
            StreamEvent::Usage(usage),
            StreamEvent::Finish {
                reason: FinishReason::Stop
            },
        ]
    );
    let got = fake.received(0);
    assert_eq!(got.path_and_query, "/v1/chat/completions");
    assert_eq!(
        got.header("authorization").as_deref(),
        Some("Bearer sk-test")
    );
    let body = got.json();
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_completion_tokens"], 50);
    assert_eq!(
        body["messages"][0],
        json!({"role": "user", "content": "hi"})
    );

    let fake = FakeLlm::scripted(vec![Reply::sse(data_events(&[chunk(
        json!({"content": "ok"}),
        Some("stop"),
    )]))])
    .await;
    let resp = collect(openai(&fake).await.chat_stream(&req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        resp.content, "ok",
        "a finish reason without [DONE] still completes"
    );
}

#[tokio::test]
async fn openai_tool_call_arguments_split_across_chunks() {
    let tc = |index: u32, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(n) = name {
            f["name"] = json!(n);
        }
        let mut call = json!({"index": index, "function": f});
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
        }
        chunk(json!({"tool_calls": [call]}), None)
    };
    let mut chunks = data_events(&[
        tc(0, Some("call_a"), Some("get_weather"), ""),
        tc(0, None, None, "{\"ci"),
        tc(0, None, None, "ty\": \"Par"),
        tc(0, None, None, "is\"}"),
        tc(1, Some("call_b"), Some("get_time"), "{}"),
        chunk(json!({}), Some("tool_calls")),
    ]);
    chunks.push(done());
    let fake = FakeLlm::scripted(vec![Reply::sse(chunks)]).await;
    let provider = openai(&fake).await;
    let req = ChatRequest {
        model: "gpt-4o-mini".into(),
        messages: vec![
            Message::text(Role::System, "be brief"),
            Message::text(Role::User, "weather?"),
            Message {
                role: Role::Assistant,
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "call_0".into(),
                    name: "lookup".into(),
                    arguments: "{}".into(),
                }],
                tool_call_id: None,
                name: None,
            },
            Message::tool_result("call_0", "lookup", "42"),
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather for a city".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        ..Default::default()
    };
    let resp = collect(provider.chat_stream(&req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        resp.tool_calls,
        vec![
            ToolCall {
                id: "call_a".into(),
                name: "get_weather".into(),
                arguments: "{\"city\": \"Paris\"}".into()
            },
            ToolCall {
                id: "call_b".into(),
                name: "get_time".into(),
                arguments: "{}".into()
            },
        ]
    );
    let body = fake.received(0).json();
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][2]["content"], Value::Null);
    assert_eq!(
        body["messages"][2]["tool_calls"][0]["function"]["name"],
        "lookup"
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_0", "content": "42"})
    );
}

#[tokio::test]
async fn openai_stream_cut_mid_way_is_stream_broken() {
    let chunks = data_events(&[chunk(json!({"content": "partial"}), None)]);
    let fake = FakeLlm::scripted(vec![Reply::sse_cut(chunks.clone()), Reply::sse(chunks)]).await;
    let provider = openai(&fake).await;
    let mut stream = provider.chat_stream(&ask("gpt-4o", "hi")).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta("partial".into())
    );
    assert!(matches!(
        stream.next().await,
        Some(Err(ProviderError::StreamBroken(_)))
    ));
    assert!(stream.next().await.is_none());

    // A clean end of body without finish reason or [DONE] is a truncation too.
    let err = collect(provider.chat_stream(&ask("gpt-4o", "hi")).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::StreamBroken(_)), "{err:?}");
}

#[tokio::test]
async fn openai_malformed_json_is_malformed() {
    let fake = FakeLlm::scripted(vec![
        Reply::sse(vec!["data: {\"choices\": [\n\n".into()]),
        Reply::status(200, "not json"),
    ])
    .await;
    let provider = openai(&fake).await;
    let err = collect(provider.chat_stream(&ask("gpt-4o", "hi")).await.unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
    let err = provider
        .embed("text-embedding-3-small", &["a".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn openai_embeddings_in_input_order() {
    let fake = FakeLlm::scripted(vec![Reply::json(
        200,
        json!({"object": "list", "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, 0.25]},
            {"object": "embedding", "index": 0, "embedding": [1.0, -1.0]},
        ], "usage": {"prompt_tokens": 4, "total_tokens": 4}}),
    )])
    .await;
    let provider = openai(&fake).await;
    let out = provider
        .embed("text-embedding-3-small", &["a".into(), "b".into()])
        .await
        .unwrap();
    assert_eq!(out, vec![vec![1.0, -1.0], vec![0.5, 0.25]]);
    let got = fake.received(0);
    assert_eq!(got.path_and_query, "/v1/embeddings");
    assert_eq!(got.json()["input"], json!(["a", "b"]));
}

#[tokio::test]
async fn openai_http_errors_keep_status_message_and_retry_after() {
    let fake = FakeLlm::scripted(vec![
        Reply::json(
            400,
            json!({"error": {"message": "bad model", "type": "invalid_request_error"}}),
        ),
        Reply::Json {
            status: 429,
            body: "{}".into(),
            headers: vec![("retry-after", "2".into())],
        },
    ])
    .await;
    let provider = openai(&fake).await;
    let err = provider
        .chat_stream(&ask("nope", "hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(err, ProviderError::Upstream { status: 400 });
    assert!(!err.is_retryable());
    let err = provider
        .chat_stream(&ask("nope", "hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err,
        ProviderError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(2))
        }
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn compatible_flavours_share_the_adapter() {
    let chunks = || {
        let mut c = data_events(&[chunk(json!({"content": "x"}), Some("stop"))]);
        c.push(done());
        Reply::sse(c)
    };
    let fake = FakeLlm::scripted(vec![chunks(), chunks()]).await;
    let reg = registry(
        json!({"providers": {"mistral": {"baseUrl": fake.url}, "vllm": {"baseUrl": fake.url}}}),
        &[("MISTRAL_API_KEY", "m-key")],
    );
    let mut req = ask("mistral-small-latest", "hi");
    req.max_tokens = Some(10);
    let resp = collect(
        reg.get("mistral", None)
            .unwrap()
            .chat_stream(&req)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.content, "x");
    let body = fake.received(0).json();
    assert!(
        body.get("stream_options").is_none(),
        "mistral rejects stream_options"
    );
    assert_eq!(body["max_tokens"], 10);
    // vLLM is keyless: no Authorization header at all.
    collect(
        reg.get("vllm", None)
            .unwrap()
            .chat_stream(&req)
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(fake.received(1).header("authorization"), None);
    assert!(matches!(
        reg.get("groq", None),
        Err(ProviderError::NotConfigured { .. })
    ));
}
