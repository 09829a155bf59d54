//! `GET /metrics/prometheus`: access, and the series after known traffic, read with the
//! `prometheus-parse` crate. Every app of this test binary shares one process-wide recorder,
//! so counters are asserted to be at least what this test's traffic made.

use astra::{chat::limits::QuotaRule, config::Secret};
use futures_util::future::join_all;
use prometheus_parse::{Sample, Scrape, Value};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Answer, FakeLlm, TestApp, chat_app_with, has_tool_result, offers_tools};

const METRICS_TOKEN: &str = "scraper-token-0123456789";
const PATH: &str = "/metrics/prometheus";

/// Parses an exposition body, failing on anything the parser refuses.
fn parse(text: &str) -> Scrape {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).expect("valid exposition text")
}

/// Samples named `metric` whose labels include every pair of `labels`.
fn find<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The sum of the counter `metric` over the samples with `labels` in a fresh scrape of
/// `app`, 0 when there is none yet (other modules' tests read their counters with it).
pub(crate) async fn counter(app: &TestApp, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let s = parse(&app.key_get(PATH).await.expect(200).text);
    find(&s, metric, labels)
        .iter()
        .map(|sample| match sample.value {
            Value::Counter(v) | Value::Untyped(v) => v,
            ref other => panic!("{metric}: not a counter: {other:?}"),
        })
        .sum()
}

/// The one scalar value of `metric` with `labels`.
#[track_caller]
fn scalar(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(scrape, metric, labels);
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    match found[0].value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric}: not a scalar: {other:?}"),
    }
}

/// Observations of the histogram `metric` with `labels` (its `+Inf` bucket).
#[track_caller]
fn observations(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found = find(scrape, metric, labels);
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    let Value::Histogram(buckets) = &found[0].value else {
        panic!("{metric}: not a histogram: {:?}", found[0].value);
    };
    buckets
        .iter()
        .find(|b| b.less_than == f64::INFINITY)
        .map(|b| b.count)
        .expect("+Inf bucket")
}

#[tokio::test]
async fn series_count_the_traffic_made() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("42")
        }
    })
    .await;
    let c = chat_app_with(&fake, |_| {}).await;
    for _ in 0..3 {
        c.app
            .send(Method::GET, "/health", None, &[])
            .await
            .expect(200);
    }
    c.app
        .send(Method::GET, "/no/such/route/4711", None, &[])
        .await
        .expect(404);
    let (status, _) = c.stream(json!({"message": "what is 6*7?"})).await;
    assert_eq!(status, 200);

    let r = c.app.key_get(PATH).await.expect(200);
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let s = parse(&r.text);

    let health = [("route", "/health"), ("method", "GET"), ("status", "200")];
    assert!(scalar(&s, "astra_http_requests_total", &health) >= 3.0);
    // The recorder is process-wide: other tests add unmatched POSTs (e.g. to unknown /v1 paths).
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert!(scalar(&s, "astra_http_requests_total", &unmatched) >= 1.0);
    assert!(
        find(
            &s,
            "astra_http_requests_total",
            &[("route", "/no/such/route/4711")]
        )
        .is_empty(),
        "raw paths must not become labels"
    );
    let duration = [("route", "/health"), ("method", "GET")];
    assert!(observations(&s, "astra_http_request_duration_seconds", &duration) >= 3.0);

    assert!(scalar(&s, "astra_turns_total", &[("status", "ok")]) >= 1.0);
    let model = [("provider", "openai"), ("model", "gpt-4o-mini")];
    // Two inference calls (the tool round and the answer), 10 prompt tokens each.
    assert!(observations(&s, "astra_inference_duration_seconds", &model) >= 2.0);
    let prompt = [model[0], model[1], ("kind", "prompt")];
    assert!(scalar(&s, "astra_inference_tokens_total", &prompt) >= 20.0);
    let completion = [model[0], model[1], ("kind", "completion")];
    assert!(scalar(&s, "astra_inference_tokens_total", &completion) >= 10.0);
    let attempts = [("provider", "openai"), ("outcome", "ok")];
    assert!(scalar(&s, "astra_inference_attempts_total", &attempts) >= 2.0);
    let calc = [("tool", "calculator"), ("outcome", "ok")];
    assert!(scalar(&s, "astra_tool_calls_total", &calc) >= 1.0);
    assert!(
        observations(
            &s,
            "astra_tool_call_duration_seconds",
            &[("tool", "calculator")]
        ) >= 1.0
    );

    for gauge in [
        "astra_jobs_queued",
        "astra_webhook_deliveries_pending",
        "astra_monitors_due",
        "astra_sse_streams_open",
        "astra_websocket_connections",
    ] {
        assert!(scalar(&s, gauge, &[]) >= 0.0, "{gauge}");
    }
    assert!(scalar(&s, "astra_db_pool_connections", &[("state", "idle")]) >= 0.0);
    assert!(scalar(&s, "astra_db_pool_connections", &[("state", "in_use")]) >= 0.0);
    assert!(scalar(&s, "astra_db_pool_max_connections", &[]) >= 1.0);
    // Recording the turn opened a write transaction.
    assert!(observations(&s, "astra_db_write_begin_duration_seconds", &[]) >= 1.0);
    // The turn's provider has a breaker, shown closed or open.
    let breaker = scalar(&s, "astra_breaker_open", &[("provider", "openai")]);
    assert!(breaker == 0.0 || breaker == 1.0, "{breaker}");
    if cfg!(target_os = "linux") {
        assert!(scalar(&s, "astra_process_resident_memory_bytes", &[]) > 0.0);
    }
    // No user, workspace or session ids anywhere in the labels.
    for id in [&c.user.id, &c.ws] {
        assert!(!r.text.contains(id.as_str()), "{id} leaked into the labels");
    }
    c.app.stop().await;
}

#[tokio::test]
async fn rate_limit_refusals_are_counted_by_kind() {
    let fake = FakeLlm::saying("hi").await;
    let c = chat_app_with(&fake, |c| c.limits.ip_per_minute = 1).await;
    c.chat(json!({"message": "one"})).await.expect(200);
    c.chat(json!({"message": "two"}))
        .await
        .expect_error(429, "RATE_LIMIT");
    let s = parse(&c.app.key_get(PATH).await.expect(200).text);
    assert!(scalar(&s, "astra_rate_limited_total", &[("kind", "ip")]) >= 1.0);
    c.app.stop().await;
}

#[tokio::test]
async fn budget_and_quota_refusals_are_counted_by_kind() {
    let fake = FakeLlm::saying("hi").await;
    let c = chat_app_with(&fake, |c| {
        c.limits.user_tokens_per_month = 20;
        c.quotas = vec![QuotaRule {
            agent_id: Some("chad".into()),
            tokens_per_hour: Some(10),
            ..Default::default()
        }];
    })
    .await;
    let kind = |k: &'static str| [("kind", k)];
    let budget_before = counter(&c.app, "astra_rate_limited_total", &kind("token_budget")).await;
    let quota_before = counter(&c.app, "astra_rate_limited_total", &kind("quota")).await;
    c.chat(json!({"message": "hi"})).await.expect(200); // 15 tokens
    // Within the budget (15 + 1 ≤ 20), over the hourly quota (15 + 1 > 10).
    c.chat(json!({"message": "hi"}))
        .await
        .expect_error(429, "QUOTA_EXCEEDED");
    c.chat(json!({"message": "a message long enough to pass the budget"}))
        .await
        .expect_error(429, "TOKEN_BUDGET_EXCEEDED");
    let budget = counter(&c.app, "astra_rate_limited_total", &kind("token_budget")).await;
    let quota = counter(&c.app, "astra_rate_limited_total", &kind("quota")).await;
    assert!(budget > budget_before, "{budget_before} → {budget}");
    assert!(quota > quota_before, "{quota_before} → {quota}");
    c.app.stop().await;
}

#[tokio::test]
async fn writes_waiting_for_an_exhausted_pool_are_counted() {
    let fake = FakeLlm::saying("hi").await;
    let c = chat_app_with(&fake, |c| c.db_max_connections = 1).await;
    let waits_before = counter(&c.app, "astra_db_pool_waits_total", &[]).await;
    // Eight turns at once share one connection: some write transaction finds it taken.
    let turns = (0..8).map(|i| c.chat(json!({"message": format!("turn {i}")})));
    for r in join_all(turns).await {
        r.expect(200);
    }
    let s = parse(&c.app.key_get(PATH).await.expect(200).text);
    let waits = find(&s, "astra_db_pool_waits_total", &[]);
    let waits = match waits.first().map(|w| &w.value) {
        Some(Value::Counter(v)) => *v,
        other => panic!("astra_db_pool_waits_total: {other:?}"),
    };
    assert!(waits > waits_before, "{waits_before} → {waits}");
    c.app.stop().await;
}

#[tokio::test]
async fn only_the_internal_key_or_the_metrics_token_may_scrape() {
    let fake = FakeLlm::saying("hi").await;
    let c = chat_app_with(&fake, |c| {
        c.metrics_token = Some(Secret::new(METRICS_TOKEN))
    })
    .await;
    c.app
        .send(Method::GET, PATH, None, &[])
        .await
        .expect_error(403, "FORBIDDEN");
    // A user's JWT is a valid credential elsewhere, but metrics are operator data.
    c.app
        .get(PATH, &c.token)
        .await
        .expect_error(403, "FORBIDDEN");
    c.app
        .get(PATH, "scraper-token-wrong-456789")
        .await
        .expect_error(403, "FORBIDDEN");
    let r = c.app.get(PATH, METRICS_TOKEN).await.expect(200);
    parse(&r.text);
    assert!(r.text.contains("# TYPE astra_http_requests_total counter"));
    // The JSON /metrics is unchanged.
    let json = c.app.key_get("/metrics").await.expect(200);
    assert!(json.body["billing"].is_object(), "{}", json.text);
    c.app.stop().await;
}
