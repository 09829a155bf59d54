//! Gemini wire format.

use astra::providers::{
    ChatRequest, FinishReason, Message, ProviderError, Role, ToolCall, ToolSpec, Usage, collect,
};
use serde_json::json;

use super::support::{ask, registry};
use crate::helpers::{Answer, FakeLlm, Reply, data_events};

fn gemini(fake: &FakeLlm) -> std::sync::Arc<dyn astra::providers::Provider> {
    let reg = registry(
        json!({"providers": {"gemini": {"apiKey": "g-key", "baseUrl": fake.url}}}),
        &[],
    );
    reg.get("gemini", None).unwrap()
}

fn text_chunk(text: &str) -> serde_json::Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]})
}

#[tokio::test]
async fn gemini_streams_text_function_call_and_usage() {
    let chunks = data_events(&[
        text_chunk("Looking "),
        text_chunk("it up."),
        json!({"candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Lima"}}}]},
               "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 6,
                                 "thoughtsTokenCount": 2, "cachedContentTokenCount": 8, "totalTokenCount": 28}}),
    ]);
    let fake = FakeLlm::scripted(vec![Reply::sse(chunks)]).await;
    let req = ChatRequest {
        model: "gemini-2.0-flash".into(),
        messages: vec![
            Message::text(Role::System, "sys"),
            Message::text(Role::User, "q"),
            Message {
                role: Role::Assistant,
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "c1".into(),
                    name: "lookup".into(),
                    arguments: "{\"k\":1}".into(),
                }],
                tool_call_id: None,
                name: None,
            },
            Message {
                name: None,
                ..Message::tool_result("c1", "", "{\"v\": 2}")
            },
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather".into(),
            parameters: json!({"$schema": "x", "type": "object", "additionalProperties": false, "properties": {}}),
        }],
        max_tokens: Some(64),
        temperature: None,
    };
    let resp = collect(gemini(&fake).chat_stream(&req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(resp.content, "Looking it up.");
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "get_weather");
    assert_eq!(resp.tool_calls[0].arguments, "{\"city\":\"Lima\"}");
    assert!(!resp.tool_calls[0].id.is_empty());
    assert_eq!(
        resp.usage,
        Usage {
            prompt_tokens: 20,
            completion_tokens: 8,
            cached_prompt_tokens: 8
        }
    );

    let got = fake.received(0);
    assert_eq!(
        got.path_and_query,
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    );
    assert_eq!(got.header("x-goog-api-key").as_deref(), Some("g-key"));
    let body = got.json();
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "sys");
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 64);
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["parameters"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(body["contents"][1]["role"], "model");
    assert_eq!(
        body["contents"][1]["parts"][0]["functionCall"],
        json!({"name": "lookup", "args": {"k": 1}})
    );
    assert_eq!(
        body["contents"][2]["parts"][0]["functionResponse"],
        json!({"name": "lookup", "response": {"v": 2}}),
        "the name is recovered from the call id"
    );
}

#[tokio::test]
async fn gemini_stream_without_finish_reason_is_broken_and_bad_json_malformed() {
    let fake = FakeLlm::scripted(vec![
        Reply::sse(data_events(&[text_chunk("half")])),
        Reply::sse_cut(data_events(&[text_chunk("half")])),
        Reply::sse(vec!["data: [1, 2\n\n".into()]),
    ])
    .await;
    let provider = gemini(&fake);
    for _ in 0..2 {
        let err = collect(
            provider
                .chat_stream(&ask("gemini-2.5-flash", "hi"))
                .await
                .unwrap(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ProviderError::StreamBroken(_)), "{err:?}");
    }
    let err = collect(
        provider
            .chat_stream(&ask("gemini-2.5-flash", "hi"))
            .await
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProviderError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn gemini_embeddings_single_and_batch() {
    let fake = FakeLlm::scripted(vec![
        Reply::json(200, json!({"embedding": {"values": [0.1, 0.2]}})),
        Reply::json(
            200,
            json!({"embeddings": [{"values": [1.0]}, {"values": [2.0]}]}),
        ),
    ])
    .await;
    let provider = gemini(&fake);
    assert_eq!(
        provider
            .embed("text-embedding-004", &["a".into()])
            .await
            .unwrap(),
        vec![vec![0.1, 0.2]]
    );
    assert_eq!(
        provider
            .embed("models/text-embedding-004", &["a".into(), "b".into()])
            .await
            .unwrap(),
        vec![vec![1.0], vec![2.0]]
    );
    assert_eq!(
        fake.received(0).path_and_query,
        "/v1beta/models/text-embedding-004:embedContent"
    );
    let batch = fake.received(1);
    assert_eq!(
        batch.path_and_query,
        "/v1beta/models/text-embedding-004:batchEmbedContents"
    );
    assert_eq!(
        batch.json()["requests"][1]["model"],
        "models/text-embedding-004"
    );
}

#[tokio::test]
async fn whole_replies_use_generate_content() {
    let answer = Answer {
        chunks: vec!["Looking ".into(), "it up.".into()],
        tool_calls: vec![("get_weather".into(), json!({"city": "Lima"}).to_string())],
        usage: (20, 6),
        ..Default::default()
    };
    let fake = FakeLlm::scripted(vec![
        answer.into(),
        Reply::json(
            200,
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "hm"}]}}]}),
        ),
        Reply::leaky_failure(500),
    ])
    .await;
    let provider = gemini(&fake);
    let mut req = ask("gemini-2.5-flash", "weather in Lima?");
    req.messages.insert(0, Message::text(Role::System, "sys"));
    req.max_tokens = Some(64);
    let resp = provider.chat(&req).await.unwrap();
    assert_eq!(resp.content, "Looking it up.");
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "get_weather");
    assert_eq!(resp.tool_calls[0].arguments, "{\"city\":\"Lima\"}");
    assert_eq!(
        (resp.usage.prompt_tokens, resp.usage.completion_tokens),
        (20, 6)
    );
    let sent = fake.received(0);
    assert_eq!(
        sent.path_and_query,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(sent.header("x-goog-api-key").as_deref(), Some("g-key"));
    let body = sent.json();
    assert_eq!(body["systemInstruction"]["parts"][0]["text"], "sys");
    assert_eq!(body["generationConfig"]["maxOutputTokens"], 64);
    assert_eq!(body["contents"][0]["parts"][0]["text"], "weather in Lima?");

    // A reply without a finish reason is incomplete; an error status keeps the gateway's words.
    let err = provider.chat(&req).await.unwrap_err();
    assert!(matches!(err, ProviderError::StreamBroken(_)), "{err:?}");
    let err = provider.chat(&req).await.unwrap_err();
    assert_eq!(err, ProviderError::Upstream { status: 500 });
    assert!(
        !err.to_string()
            .contains(crate::helpers::UPSTREAM_SECRET_BODY)
    );
}
