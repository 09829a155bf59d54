//! Bedrock Converse wire format and SigV4 signing.

use astra::providers::{ChatRequest, FinishReason, Message, ProviderError, Role, Usage, collect};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::support::registry;
use crate::helpers::{FakeLlm, Reply};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn bedrock(fake: &FakeLlm) -> std::sync::Arc<dyn astra::providers::Provider> {
    let reg = registry(
        json!({}),
        &[
            ("AWS_REGION", "eu-west-3"),
            ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "session-tok"),
            ("BEDROCK_BASE_URL", &fake.url),
        ],
    );
    reg.get("bedrock", None).unwrap()
}

#[tokio::test]
async fn bedrock_converse_text_tool_use_usage_and_signature() {
    let fake = FakeLlm::scripted(vec![Reply::json(
        200,
        json!({"output": {"message": {"role": "assistant", "content": [
                {"text": "Calling."},
                {"toolUse": {"toolUseId": "tu_1", "name": "get_weather", "input": {"city": "Nice"}}}]}},
               "stopReason": "tool_use",
               "usage": {"inputTokens": 30, "outputTokens": 9, "totalTokens": 39, "cacheReadInputTokens": 4},
               "metrics": {"latencyMs": 100}}),
    )])
    .await;
    let req = ChatRequest {
        model: MODEL.into(),
        messages: vec![
            Message::text(Role::System, "sys"),
            Message::text(Role::User, "hi"),
        ],
        max_tokens: Some(100),
        ..Default::default()
    };
    let resp = collect(bedrock(&fake).chat_stream(&req).await.unwrap())
        .await
        .unwrap();
    assert_eq!(resp.content, "Calling.");
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(resp.tool_calls[0].id, "tu_1");
    assert_eq!(resp.tool_calls[0].arguments, "{\"city\":\"Nice\"}");
    assert_eq!(
        resp.usage,
        Usage {
            prompt_tokens: 34,
            completion_tokens: 9,
            cached_prompt_tokens: 4
        }
    );

    let got = fake.received(0);
    assert_eq!(
        got.path_and_query,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    let body = got.json();
    assert_eq!(body["system"], json!([{"text": "sys"}]));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "hi"}]}])
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 100);
    let auth = got.header("authorization").unwrap();
    let date = got.header("x-amz-date").unwrap();
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}/eu-west-3/bedrock/aws4_request, ",
            &date[..8]
        )),
        "{auth}"
    );
    assert!(auth.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="));
    assert_eq!(
        got.header("x-amz-content-sha256").unwrap(),
        hex::encode(Sha256::digest(&got.body))
    );
    assert_eq!(
        got.header("x-amz-security-token").as_deref(),
        Some("session-tok")
    );
}

#[tokio::test]
async fn bedrock_throttling_errors_and_titan_embeddings() {
    let fake = FakeLlm::scripted(vec![
        Reply::json(429, json!({"message": "Too many requests"})),
        Reply::json(400, json!({"message": "Malformed input request"})),
        Reply::json(
            200,
            json!({"embedding": [0.5, 0.5], "inputTextTokenCount": 2}),
        ),
        Reply::json(200, json!({"embedding": [0.25], "inputTextTokenCount": 2})),
    ])
    .await;
    let provider = bedrock(&fake);
    let req = ChatRequest {
        model: MODEL.into(),
        messages: vec![Message::text(Role::User, "hi")],
        ..Default::default()
    };
    let err = provider.chat_stream(&req).await.err().unwrap();
    assert_eq!(err, ProviderError::RateLimited { retry_after: None });
    let err = provider.chat_stream(&req).await.err().unwrap();
    assert_eq!(err, ProviderError::Upstream { status: 400 });
    let out = provider
        .embed("amazon.titan-embed-text-v2:0", &["a".into(), "b".into()])
        .await
        .unwrap();
    assert_eq!(out, vec![vec![0.5, 0.5], vec![0.25]]);
    assert_eq!(
        fake.received(2).path_and_query,
        "/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert_eq!(fake.received(3).json(), json!({"inputText": "b"}));
}
