//! /diagnostics*: full runs (stored), quick runs, history, and the breakers after failures.

use crate::helpers::{Answer, FakeLlm, chat_app_with};
use astra::providers::InferenceConfig;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[tokio::test]
async fn full_runs_are_stored_and_quick_runs_are_not() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |_| {}).await;
    c.chat(json!({"message": "warm up"})).await.expect(200);
    let first = c.app.key_get("/diagnostics").await.expect(200);
    assert_eq!(
        (first.body["status"].as_str(), first.body["ok"].as_bool()),
        (Some("ok"), Some(true)),
        "{}",
        first.text
    );
    assert!(first.body["id"].as_str().unwrap().starts_with("diag_"));
    assert!(first.body["createdAt"].is_string() && first.body["durationMs"].is_number());
    for c in first.body["checks"].as_array().unwrap() {
        assert!(
            c["name"].is_string() && c["ok"].is_boolean() && c["latencyMs"].is_number(),
            "{c}"
        );
    }
    let db = check(&first.body, "database");
    assert_eq!(db["ok"], true);
    assert!(db["detail"]["engine"].is_string());
    let migrations = check(&first.body, "migrations");
    assert_eq!(migrations["detail"]["pending"], json!([]));
    assert!(migrations["detail"]["applied"].as_u64().unwrap() >= 4);
    let openai = check(&first.body, "provider:openai");
    assert_eq!(openai["detail"]["configured"], true);
    assert_eq!(
        (
            openai["detail"]["default"].as_bool(),
            openai["detail"]["breaker"].as_str()
        ),
        (Some(true), Some("closed"))
    );
    let claude = check(&first.body, "provider:claude");
    assert_eq!(
        (
            claude["ok"].as_bool(),
            claude["detail"]["configured"].as_bool()
        ),
        (Some(true), Some(false))
    );
    assert!(
        check(&first.body, "tools")["detail"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(check(&first.body, "dataDir")["ok"], true);
    let rate = check(&first.body, "errorRate");
    assert_eq!(
        (rate["ok"].as_bool(), rate["detail"]["turns"].as_i64()),
        (Some(true), Some(1))
    );

    let quick = c.app.key_get("/diagnostics/quick").await.expect(200);
    assert!(quick.body.get("id").is_none());
    let names: Vec<&str> = quick.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "database");
    assert!(
        names[1..].iter().all(|n| n.starts_with("provider:")),
        "{names:?}"
    );

    let second = c.app.key_get("/diagnostics").await.expect(200);
    let history = c.app.key_get("/diagnostics/history").await.expect(200);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "quick runs are not stored: {}",
        history.text
    );
    assert_eq!(
        (items[0]["id"].clone(), items[1]["id"].clone()),
        (second.body["id"].clone(), first.body["id"].clone())
    );
    assert_eq!(items[1]["checks"], first.body["checks"]);
    for _ in 0..10 {
        c.app.key_get("/diagnostics").await.expect(200);
    }
    let history = c.app.key_get("/diagnostics/history").await.expect(200);
    assert_eq!(history.body["items"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn breakers_open_after_provider_failures_and_diagnostics_degrade() {
    let fake = FakeLlm::start(|_, _| Answer::error(500)).await;
    let base = fake.base_url.clone();
    let c = chat_app_with(&fake, move |config| {
        let env = move |k: &str| match k {
            "OPENAI_API_KEY" => Some("test-key".to_string()),
            "OPENAI_BASE_URL" => Some(base.clone()),
            _ => None,
        };
        let inference = json!({
            "retries": {"maxRetries": 0, "baseDelayMs": 5, "maxDelayMs": 20}, "timeoutMs": 5000,
            "circuitBreaker": {"failureThreshold": 2, "windowSeconds": 60, "openSeconds": 600, "halfOpenSuccesses": 1},
        });
        config.inference = InferenceConfig::from_sources(Some(&inference), &env).unwrap();
    })
    .await;
    let empty = c
        .app
        .key_get("/diagnostics/circuit-breakers")
        .await
        .expect(200);
    assert_eq!(empty.body["breakers"], json!([]));
    assert_eq!(empty.body["config"]["failureThreshold"], 2);
    for _ in 0..2 {
        c.chat(json!({"message": "hi"}))
            .await
            .expect_error(502, "PROVIDER_ERROR");
    }
    let r = c
        .app
        .key_get("/diagnostics/circuit-breakers")
        .await
        .expect(200);
    let breakers = r.body["breakers"].as_array().unwrap();
    assert_eq!(breakers.len(), 1, "{}", r.text);
    let b = &breakers[0];
    assert_eq!(
        (b["provider"].as_str(), b["state"].as_str()),
        (Some("openai"), Some("open"))
    );
    assert!(b["openedAt"].is_string());
    let last = b["transitions"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("closed"), Some("open"))
    );
    // While open, turns fail fast and the failures pile up in the error rate.
    for _ in 0..3 {
        c.chat(json!({"message": "hi"}))
            .await
            .expect_error(503, "PROVIDER_UNAVAILABLE");
    }
    let quick = c.app.key_get("/diagnostics/quick").await.expect(200);
    assert_eq!(
        (quick.body["status"].as_str(), quick.body["ok"].as_bool()),
        (Some("degraded"), Some(false))
    );
    let openai = check(&quick.body, "provider:openai");
    assert_eq!(
        (openai["ok"].as_bool(), openai["detail"]["breaker"].as_str()),
        (Some(false), Some("open"))
    );
    let full = c.app.key_get("/diagnostics").await.expect(200);
    assert_eq!(full.body["ok"], false);
    let rate = check(&full.body, "errorRate");
    assert_eq!(
        (
            rate["ok"].as_bool(),
            rate["detail"]["turns"].as_i64(),
            rate["detail"]["failed"].as_i64()
        ),
        (Some(false), Some(5), Some(5))
    );
    let stored = c.app.key_get("/diagnostics/history").await.expect(200);
    assert_eq!(stored.body["items"][0]["status"], "degraded");
}

#[tokio::test]
async fn an_unconfigured_default_provider_fails_its_check() {
    let app = spawn_app().await;
    let r = app.key_get("/diagnostics/quick").await.expect(200);
    let default: Vec<&Value> = r.body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["detail"]["default"] == true)
        .collect();
    assert_eq!(default.len(), 1, "{}", r.text);
    assert_eq!(default[0]["ok"], default[0]["detail"]["configured"]);
}
