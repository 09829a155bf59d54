//! `GET /metrics/prometheus`: access, and the series after known traffic, read with the
//! `prometheus-parse` crate. Every app of this test binary shares one process-wide recorder,
//! so counters are asserted to be at least what this test's traffic made.

use astra::config::Secret;
use prometheus_parse::{Sample, Scrape, Value};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Answer, FakeLlm, chat_app_with, has_tool_result, offers_tools};

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
