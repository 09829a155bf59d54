//! Bedrock Converse: `converse-stream` over real event-stream frames, `converse` for whole
//! replies, SigV4 signing, exceptions and corrupted frames.

use astra::providers::{
    ChatRequest, FinishReason, Message, Provider, ProviderError, Role, StreamEvent, ToolSpec,
    Usage, collect,
};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::support::{ask, registry};
use crate::helpers::eventstream::{closing, event, exception, text_delta};
use crate::helpers::llm::Received;
use crate::helpers::{Answer, FakeLlm, Reply, UPSTREAM_SECRET_BODY};

pub const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

/// The AWS settings of every Bedrock test, at `base_url`.
pub fn aws_env(base_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", "eu-west-3".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "secret".into()),
        ("AWS_SESSION_TOKEN", "session-tok".into()),
        ("BEDROCK_BASE_URL", base_url.into()),
    ]
}

fn bedrock(fake: &FakeLlm) -> std::sync::Arc<dyn Provider> {
    let env = aws_env(&fake.url);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    registry(json!({}), &pairs).get("bedrock", None).unwrap()
}

fn assert_signed(got: &Received) {
    let auth = got.header("authorization").unwrap();
    let date = got.header("x-amz-date").unwrap();
    let scope = format!(
        "Credential=AKIDTEST/{}/eu-west-3/bedrock/aws4_request, ",
        &date[..8]
    );
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 {scope}")),
        "{auth}"
    );
    assert!(auth.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="));
    let hash = hex::encode(Sha256::digest(&got.body));
    assert_eq!(got.header("x-amz-content-sha256").unwrap(), hash);
    assert_eq!(
        got.header("x-amz-security-token").as_deref(),
        Some("session-tok")
    );
}

fn request() -> ChatRequest {
    ChatRequest {
        model: MODEL.into(),
        messages: vec![
            Message::text(Role::System, "sys"),
            Message::text(Role::User, "hi"),
        ],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Weather".into(),
            parameters: json!({"type": "object"}),
        }],
        max_tokens: Some(100),
        temperature: None,
    }
}

async fn events(
    provider: &dyn Provider,
    req: &ChatRequest,
) -> Vec<Result<StreamEvent, ProviderError>> {
    provider.chat_stream(req).await.unwrap().collect().await
}

#[tokio::test]
async fn converse_stream_text_tool_use_usage_and_signature() {
    let args = json!({"city": "Nice"}).to_string();
    let answer = Answer {
        chunks: vec!["Calling".into(), " now.".into()],
        tool_calls: vec![("get_weather".into(), args.clone())],
        usage: (30, 9),
        ..Default::default()
    };
    let fake = FakeLlm::scripted(vec![answer.into()]).await;
    let got: Vec<StreamEvent> = events(bedrock(&fake).as_ref(), &request())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let (first, rest) = args.split_at(args.len() / 2);
    let tool_delta = |part: &str| StreamEvent::ToolCallDelta {
        index: 0,
        arguments: part.into(),
    };
    assert_eq!(
        got,
        vec![
            StreamEvent::TextDelta("Calling".into()),
            StreamEvent::TextDelta(" now.".into()),
            StreamEvent::ToolCallStart {
                index: 0,
                id: "tooluse_0_0".into(),
                name: "get_weather".into()
            },
            tool_delta(first),
            tool_delta(rest),
            StreamEvent::Usage(Usage {
                prompt_tokens: 30,
                completion_tokens: 9,
                cached_prompt_tokens: 0
            }),
            StreamEvent::Finish {
                reason: FinishReason::ToolCalls
            },
        ]
    );
    let sent = fake.received(0);
    assert_eq!(
        sent.path_and_query,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
    );
    let body = sent.json();
    assert_eq!(body["system"], json!([{"text": "sys"}]));
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "hi"}]}])
    );
    assert_eq!(body["inferenceConfig"]["maxTokens"], 100);
    assert_eq!(
        body["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "get_weather"
    );
    assert_signed(&sent);
}

#[tokio::test]
async fn frames_split_at_odd_byte_boundaries_decode_the_same() {
    let mut frames = vec![event("messageStart", json!({"role": "assistant"}))];
    frames.extend([text_delta(0, "Hel"), text_delta(0, "lo, ünïcode")]);
    frames.push(event("contentBlockStop", json!({"contentBlockIndex": 0})));
    frames.extend(closing("end_turn", 7, 3));
    let all: Vec<u8> = frames.concat();
    for size in [1, 7, 13, all.len()] {
        let pieces = all.chunks(size).map(<[u8]>::to_vec).collect();
        let fake = FakeLlm::scripted(vec![Reply::frames(pieces)]).await;
        let resp = collect(bedrock(&fake).chat_stream(&ask(MODEL, "hi")).await.unwrap())
            .await
            .unwrap();
        assert_eq!(resp.content, "Hello, ünïcode", "chunks of {size}");
        assert_eq!(resp.finish_reason, FinishReason::Stop);
        assert_eq!(
            (resp.usage.prompt_tokens, resp.usage.completion_tokens),
            (7, 3)
        );
    }
}

#[tokio::test]
async fn exceptions_corruption_and_truncation_are_clean_stream_errors() {
    let start = || event("messageStart", json!({"role": "assistant"}));
    let mut corrupt = text_delta(0, UPSTREAM_SECRET_BODY);
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x10;
    let half = text_delta(0, "never whole");
    let fake = FakeLlm::scripted(vec![
        Reply::frames(vec![start(), exception("throttlingException", "slow down")]),
        Reply::frames(vec![
            start(),
            text_delta(0, "partial"),
            exception("modelStreamErrorException", UPSTREAM_SECRET_BODY),
        ]),
        Reply::frames(vec![start(), text_delta(0, "ok"), corrupt]),
        Reply::frames(vec![start(), half[..half.len() - 5].to_vec()]),
        Reply::frames(vec![start(), text_delta(0, "no end")]),
    ])
    .await;
    let provider = bedrock(&fake);
    let req = ask(MODEL, "hi");
    let err = collect(provider.chat_stream(&req).await.unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ProviderError::RateLimited { retry_after: None });

    let got = events(provider.as_ref(), &req).await;
    assert_eq!(got[0], Ok(StreamEvent::TextDelta("partial".into())));
    assert!(
        matches!(&got[1], Err(ProviderError::StreamBroken(_))),
        "{got:?}"
    );
    assert!(!format!("{got:?}").contains(UPSTREAM_SECRET_BODY));
    assert_eq!(got.len(), 2, "the stream ends at its first error");

    let got = events(provider.as_ref(), &req).await;
    assert_eq!(got[0], Ok(StreamEvent::TextDelta("ok".into())));
    match &got[1] {
        Err(ProviderError::Malformed(why)) => assert!(why.contains("CRC"), "{why}"),
        other => panic!("expected a CRC error, got {other:?}"),
    }
    assert!(!format!("{got:?}").contains(UPSTREAM_SECRET_BODY));

    for _ in 0..2 {
        let err = collect(provider.chat_stream(&req).await.unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::StreamBroken(_)), "{err:?}");
    }
}

#[tokio::test]
async fn oversized_frames_and_bodies_are_refused() {
    let fake = FakeLlm::scripted(vec![
        Reply::HugeFrame(24 * 1024 * 1024),
        Reply::HugeBody(24 * 1024 * 1024),
    ])
    .await;
    let provider = bedrock(&fake);
    let err = collect(provider.chat_stream(&ask(MODEL, "hi")).await.unwrap())
        .await
        .unwrap_err();
    let frame_cap = ProviderError::TooLarge {
        what: "event-stream frame",
        limit: 16 * 1024 * 1024,
    };
    assert_eq!(err, frame_cap);
    let err = provider.chat(&ask(MODEL, "hi")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::TooLarge {
                what: "response body",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn message_stop_without_metadata_still_finishes() {
    let frames = vec![
        text_delta(0, "done"),
        event("messageStop", json!({"stopReason": "max_tokens"})),
    ];
    let fake = FakeLlm::scripted(vec![Reply::frames(frames)]).await;
    let resp = collect(bedrock(&fake).chat_stream(&ask(MODEL, "hi")).await.unwrap())
        .await
        .unwrap();
    assert_eq!(resp.content, "done");
    assert_eq!(resp.finish_reason, FinishReason::Length);
    assert_eq!(resp.usage, Usage::default());
}

#[tokio::test]
async fn whole_replies_use_converse() {
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
    let resp = bedrock(&fake).chat(&request()).await.unwrap();
    assert_eq!(resp.content, "Calling.");
    assert_eq!(resp.finish_reason, FinishReason::ToolCalls);
    assert_eq!(resp.tool_calls[0].id, "tu_1");
    assert_eq!(resp.tool_calls[0].arguments, "{\"city\":\"Nice\"}");
    let usage = Usage {
        prompt_tokens: 34,
        completion_tokens: 9,
        cached_prompt_tokens: 4,
    };
    assert_eq!(resp.usage, usage);
    let sent = fake.received(0);
    assert_eq!(
        sent.path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    assert_eq!(sent.json()["system"], json!([{"text": "sys"}]));
    assert_signed(&sent);
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
    let req = ask(MODEL, "hi");
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
