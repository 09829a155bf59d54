//! Each limit hit on purpose: per-user and per-IP rates, the monthly token budget, agent
//! quotas and the request timeout.

use crate::helpers::{Answer, FakeLlm, chat_app_with, names};
use std::time::Duration;

use astra::chat::limits::QuotaRule;
use serde_json::json;

#[tokio::test]
async fn the_user_rate_limit_answers_429_with_headers() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_per_minute = 2).await;
    let ok = c.chat(json!({"message": "1"})).await.expect(200);
    assert_eq!(ok.header("ratelimit-policy"), Some("2;w=60"));
    assert!(ok.header("ratelimit").unwrap().contains("remaining=1"));
    c.chat(json!({"message": "2"})).await.expect(200);
    let r = c
        .chat(json!({"message": "3"}))
        .await
        .expect_error(429, "RATE_LIMIT");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn the_ip_rate_limit_applies_across_users() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.ip_per_minute = 1).await;
    c.chat(json!({"message": "1"})).await.expect(200);
    c.chat(json!({"message": "2"}))
        .await
        .expect_error(429, "RATE_LIMIT");
}

#[tokio::test]
async fn the_monthly_token_budget_is_checked_before_inference() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_tokens_per_month = 20).await;
    c.chat(json!({"message": "hi"})).await.expect(200); // 15 tokens billed
    let r = c
        .chat(json!({"message": "a somewhat longer message now"}))
        .await
        .expect_error(429, "TOKEN_BUDGET_EXCEEDED");
    assert!(r.body["resetAt"].as_str().unwrap().ends_with('Z'));
    assert!(r.header("retry-after").is_some());
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn agent_quotas_are_enforced() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.quotas = vec![QuotaRule {
            agent_id: Some("chad".into()),
            tokens_per_hour: Some(10),
            ..Default::default()
        }];
    })
    .await;
    c.chat(json!({"message": "hi"})).await.expect(200);
    let r = c
        .chat(json!({"message": "hi"}))
        .await
        .expect_error(429, "QUOTA_EXCEEDED");
    assert!(r.body["message"].as_str().unwrap().contains("chad"));
}

#[tokio::test]
async fn a_slow_turn_times_out() {
    let fake = FakeLlm::start(|_, _| {
        Answer::chunks(&["a", "b", "c", "d", "e", "f", "g", "h"]).slow(Duration::from_millis(100))
    })
    .await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.limits.request_timeout = Duration::from_millis(350)
    })
    .await;
    c.chat(json!({"message": "slow"}))
        .await
        .expect_error(504, "TIMEOUT");
    let (status, events) = c.stream(json!({"message": "slow"})).await;
    assert_eq!(status, 200);
    let last = events.last().unwrap();
    assert_eq!(last.0, "error");
    assert_eq!(last.1["code"], "TIMEOUT");
    assert_eq!(names(&events)[0], "session_resolved");
}
