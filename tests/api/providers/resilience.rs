//! Timeouts, retries with backoff and Retry-After, and fallback.

use std::time::{Duration, Instant};

use astra::providers::{
    AttemptOutcome, ProviderError, StreamEvent, Target, chat_stream_resilient, chat_stream_traced,
    collect,
};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::support::{ask, registry};
use crate::helpers::{FakeLlm, Reply, data_events};

fn ok_stream(text: &str) -> Reply {
    let mut c = data_events(&[
        json!({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": "stop"}]}),
    ]);
    c.push("data: [DONE]\n\n".into());
    Reply::sse(c)
}

fn providers(primary: &FakeLlm, fallback: Option<&FakeLlm>) -> Value {
    let mut p = json!({"openai": {"apiKey": "k1", "baseUrl": primary.url}});
    if let Some(f) = fallback {
        p["groq"] = json!({"apiKey": "k2", "baseUrl": f.url});
    }
    json!({ "providers": p })
}

#[tokio::test]
async fn retries_500s_then_succeeds() {
    let fake = FakeLlm::scripted(vec![
        Reply::status(500, "boom"),
        Reply::status(502, "bad gateway"),
        ok_stream("fine"),
    ])
    .await;
    let reg = registry(providers(&fake, None), &[]);
    let (stream, served, attempts) = chat_stream_resilient(
        &reg,
        Target::new("openai", "gpt-4o"),
        None,
        &ask("ignored", "hi"),
    )
    .await
    .unwrap();
    assert_eq!(collect(stream).await.unwrap().content, "fine");
    assert_eq!(served, Target::new("openai", "gpt-4o"));
    assert_eq!(fake.hits(), 3);
    assert_eq!(
        fake.received(2).json()["model"],
        "gpt-4o",
        "the target's model is used"
    );
    let statuses: Vec<_> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome, a.http_status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (1, AttemptOutcome::Error, Some(500)),
            (2, AttemptOutcome::Error, Some(502)),
            (3, AttemptOutcome::Ok, None)
        ]
    );
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let limited = Reply::Json {
        status: 429,
        body: "{}".into(),
        headers: vec![("retry-after", "1".into())],
    };
    let fake = FakeLlm::scripted(vec![limited, ok_stream("later")]).await;
    let reg = registry(providers(&fake, None), &[]);
    let started = Instant::now();
    let (stream, _, attempts) =
        chat_stream_resilient(&reg, Target::new("openai", "gpt-4o"), None, &ask("m", "hi"))
            .await
            .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
    assert_eq!(collect(stream).await.unwrap().content, "later");
    assert_eq!(fake.hits(), 2);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].http_status, Some(429));
}

#[tokio::test]
async fn does_not_retry_client_errors() {
    for status in [400u16, 401, 403, 404] {
        let fake = FakeLlm::scripted(vec![Reply::status(status, "no"), ok_stream("never")]).await;
        let reg = registry(providers(&fake, None), &[]);
        let (result, attempts) =
            chat_stream_traced(&reg, Target::new("openai", "gpt-4o"), None, &ask("m", "hi")).await;
        assert!(matches!(result, Err(ProviderError::Upstream { status: s, .. }) if s == status));
        assert_eq!(fake.hits(), 1, "HTTP {status} must not be retried");
        assert_eq!(attempts.len(), 1);
        assert_eq!(
            reg.breakers().snapshot()[0].failures,
            0,
            "client errors do not trip the breaker"
        );
    }
}

#[tokio::test]
async fn times_out_and_retries_then_reports_timeout() {
    let fake = FakeLlm::scripted(vec![
        Reply::Hang(Duration::from_secs(3)),
        Reply::Hang(Duration::from_secs(3)),
    ])
    .await;
    let reg = registry(
        json!({"timeoutMs": 150, "retries": {"maxRetries": 1}, "providers": providers(&fake, None)["providers"]}),
        &[],
    );
    let started = Instant::now();
    let (result, attempts) =
        chat_stream_traced(&reg, Target::new("openai", "gpt-4o"), None, &ask("m", "hi")).await;
    assert!(matches!(result, Err(ProviderError::Timeout)));
    assert_eq!(fake.hits(), 2);
    assert_eq!(attempts.len(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn falls_back_when_retries_are_exhausted() {
    let primary = FakeLlm::scripted(vec![
        Reply::status(503, "down"),
        Reply::status(503, "down"),
        Reply::status(503, "down"),
    ])
    .await;
    let fallback = FakeLlm::scripted(vec![ok_stream("from groq")]).await;
    let reg = registry(providers(&primary, Some(&fallback)), &[]);
    let fb = Target::new("groq", "llama-3.3-70b-versatile");
    let (stream, served, attempts) = chat_stream_resilient(
        &reg,
        Target::new("openai", "gpt-4o"),
        Some(fb.clone()),
        &ask("m", "hi"),
    )
    .await
    .unwrap();
    assert_eq!(served, fb);
    assert_eq!(collect(stream).await.unwrap().content, "from groq");
    assert_eq!(primary.hits(), 3);
    assert_eq!(
        fallback.received(0).json()["model"],
        "llama-3.3-70b-versatile"
    );
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[3].provider, "groq");
}

#[tokio::test]
async fn no_retry_once_the_stream_has_started() {
    let chunk = data_events(&[
        json!({"choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": null}]}),
    ]);
    let fake = FakeLlm::scripted(vec![Reply::sse_cut(chunk), ok_stream("second")]).await;
    let reg = registry(providers(&fake, None), &[]);
    let (mut stream, _, attempts) =
        chat_stream_resilient(&reg, Target::new("openai", "gpt-4o"), None, &ask("m", "hi"))
            .await
            .unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta("par".into())
    );
    assert!(matches!(
        stream.next().await,
        Some(Err(ProviderError::StreamBroken(_)))
    ));
    assert!(stream.next().await.is_none());
    assert_eq!(fake.hits(), 1);
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        reg.breakers().snapshot()[0].failures,
        1,
        "a broken stream counts against the provider"
    );
}

#[tokio::test]
async fn stalled_stream_yields_timeout_item() {
    let chunks = data_events(&[
        json!({"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": null}]}),
        json!({"choices": [{"index": 0, "delta": {"content": "b"}, "finish_reason": "stop"}]}),
    ]);
    let stalls = Reply::Sse {
        chunks,
        delay: Duration::from_secs(2),
        cut: false,
    };
    let fake = FakeLlm::scripted(vec![stalls]).await;
    let reg = registry(
        json!({"timeoutMs": 300, "providers": providers(&fake, None)["providers"]}),
        &[],
    );
    let (mut stream, _, _) =
        chat_stream_resilient(&reg, Target::new("openai", "gpt-4o"), None, &ask("m", "hi"))
            .await
            .unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamEvent::TextDelta("a".into())
    );
    let started = Instant::now();
    assert!(matches!(
        stream.next().await,
        Some(Err(ProviderError::Timeout))
    ));
    assert!(stream.next().await.is_none());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn unconfigured_primary_uses_fallback_and_missing_everything_errors() {
    let fallback = FakeLlm::scripted(vec![ok_stream("fb")]).await;
    let reg = registry(
        json!({"providers": {"groq": {"apiKey": "k", "baseUrl": fallback.url}}}),
        &[],
    );
    let (_, served, attempts) = chat_stream_resilient(
        &reg,
        Target::new("claude", "claude-sonnet-4-5"),
        Some(Target::new("groq", "llama-3.1-8b-instant")),
        &ask("m", "hi"),
    )
    .await
    .unwrap();
    assert_eq!(served.provider, "groq");
    assert!(
        attempts[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not configured")
    );
    let err = chat_stream_resilient(&reg, Target::new("claude", "x"), None, &ask("m", "hi"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err,
        ProviderError::NotConfigured {
            provider: "claude".into()
        }
    );
}
