//! Circuit-breaker transitions on an injected clock, and fallback while open.

use std::sync::Arc;
use std::time::Duration;

use astra::providers::{
    AttemptOutcome, BreakerConfig, BreakerState, CircuitBreakers, ManualClock, ProviderError,
    Target, chat_stream_resilient, collect,
};
use serde_json::json;

use super::support::{ask, registry_with_clock};
use crate::helpers::{FakeLlm, Reply, data_events};

fn ok_stream() -> Reply {
    Reply::sse(data_events(&[
        json!({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]}),
    ]))
}

fn breakers(clock: Arc<ManualClock>) -> CircuitBreakers {
    let cfg = BreakerConfig {
        failure_threshold: 3,
        window: Duration::from_secs(60),
        open_for: Duration::from_secs(60),
        half_open_successes: 2,
    };
    CircuitBreakers::new(cfg, clock)
}

#[test]
fn breaker_closed_open_half_open_closed() {
    let clock = Arc::new(ManualClock::new());
    let b = breakers(clock.clone());
    b.record_failure("openai");
    b.record_failure("openai");
    clock.advance(Duration::from_secs(61));
    b.record_failure("openai");
    assert_eq!(
        b.state("openai"),
        BreakerState::Closed,
        "failures outside the window are forgotten"
    );
    b.record_failure("openai");
    b.record_failure("openai");
    assert_eq!(b.state("openai"), BreakerState::Open);
    assert!(!b.allows("openai"));
    assert!(b.allows("claude"), "breakers are per provider");
    clock.advance(Duration::from_secs(59));
    assert_eq!(b.state("openai"), BreakerState::Open);
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.state("openai"), BreakerState::HalfOpen);
    b.record_success("openai");
    assert_eq!(b.state("openai"), BreakerState::HalfOpen);
    b.record_success("openai");
    assert_eq!(b.state("openai"), BreakerState::Closed);

    let snap = b.snapshot();
    let openai = snap.iter().find(|s| s.provider == "openai").unwrap();
    assert_eq!(openai.state, "closed");
    let path: Vec<_> = openai
        .transitions
        .iter()
        .map(|t| (t.from.as_str(), t.to.as_str()))
        .collect();
    assert_eq!(
        path,
        vec![
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "closed")
        ]
    );
    assert!(openai.opened_at.is_some());
    assert_eq!(openai.last_transition_at, Some(openai.transitions[2].at));
    assert!(openai.transitions[1].at - openai.transitions[0].at >= chrono::Duration::seconds(60));
}

#[test]
fn failure_in_half_open_reopens() {
    let clock = Arc::new(ManualClock::new());
    let b = breakers(clock.clone());
    for _ in 0..3 {
        b.record_failure("gemini");
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(b.snapshot()[0].state, "half_open");
    b.record_success("gemini");
    b.record_failure("gemini");
    assert_eq!(b.state("gemini"), BreakerState::Open);
    clock.advance(Duration::from_secs(30));
    assert_eq!(
        b.state("gemini"),
        BreakerState::Open,
        "the open period restarts"
    );
}

#[tokio::test]
async fn open_breaker_uses_fallback_then_recovers_over_http() {
    let primary = FakeLlm::scripted(vec![
        Reply::status(500, "x"),
        Reply::status(500, "x"),
        ok_stream(),
        ok_stream(),
    ])
    .await;
    let fallback = FakeLlm::scripted(vec![ok_stream()]).await;
    let clock = Arc::new(ManualClock::new());
    let reg = registry_with_clock(
        json!({
            "retries": {"maxRetries": 0},
            "circuitBreaker": {"failureThreshold": 2, "windowSeconds": 60, "openSeconds": 30, "halfOpenSuccesses": 2},
            "providers": {"openai": {"apiKey": "a", "baseUrl": primary.url}, "groq": {"apiKey": "b", "baseUrl": fallback.url}},
        }),
        clock.clone(),
    );
    let main = Target::new("openai", "gpt-4o");
    let fb = Target::new("groq", "llama-3.1-8b-instant");
    let req = ask("m", "hi");
    for _ in 0..2 {
        let err = chat_stream_resilient(&reg, main.clone(), None, &req)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, ProviderError::Upstream { status: 500, .. }));
    }
    assert_eq!(reg.breakers().state("openai"), BreakerState::Open);

    let (stream, served, attempts) =
        chat_stream_resilient(&reg, main.clone(), Some(fb.clone()), &req)
            .await
            .unwrap();
    assert_eq!(served, fb);
    collect(stream).await.unwrap();
    assert_eq!(primary.hits(), 2, "an open breaker sends nothing upstream");
    assert_eq!(attempts[0].outcome, AttemptOutcome::CircuitOpen);
    assert_eq!(attempts[0].breaker_state, "open");
    assert_eq!(attempts[1].outcome, AttemptOutcome::Ok);

    let err = chat_stream_resilient(&reg, main.clone(), None, &req)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err,
        ProviderError::CircuitOpen {
            provider: "openai".into()
        }
    );
    assert_eq!(err.http_status(), 503);
    assert_eq!(err.api_code(), "PROVIDER_UNAVAILABLE");

    clock.advance(Duration::from_secs(31));
    assert_eq!(reg.breakers().state("openai"), BreakerState::HalfOpen);
    let (stream, served, attempts) =
        chat_stream_resilient(&reg, main.clone(), Some(fb.clone()), &req)
            .await
            .unwrap();
    assert_eq!(served, main);
    assert_eq!(attempts[0].breaker_state, "half_open");
    collect(stream).await.unwrap();
    assert_eq!(reg.breakers().state("openai"), BreakerState::HalfOpen);
    let (stream, _, _) = chat_stream_resilient(&reg, main.clone(), None, &req)
        .await
        .unwrap();
    collect(stream).await.unwrap();
    assert_eq!(reg.breakers().state("openai"), BreakerState::Closed);
    assert_eq!(primary.hits(), 4);
}
