//! Public skill routes: registry list with ETag, detail with instructions and tools, and
//! 30-day metrics aggregated from `skill_metrics`.

use astra::store::SkillMetric;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn list_is_public_and_cached() {
    let app = spawn_app_with(|c| {
        c.file.skills = vec![json!({
            "id": "math_tutor",
            "displayName": "Math tutor",
            "category": "education",
            "description": "Explains maths step by step.",
            "tools": ["calculator"],
            "instructions": "Show every step."
        })]
    })
    .await;
    let r = app
        .send(Method::GET, "/skills", None, &[])
        .await
        .expect(200);
    assert_eq!(r.header("cache-control"), Some("public, max-age=60"));
    let etag = r.header("etag").expect("etag").to_string();
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in ["utilities", "web_research", "memory", "math_tutor"] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    assert_eq!(r.body["total"].as_u64(), Some(ids.len() as u64));
    let utilities = &r.body["items"][0];
    assert_eq!(utilities["tools"], json!(["current_time", "calculator"]));
    assert_eq!(utilities["builtin"], true);
    assert!(utilities.get("instructions").is_none());
    let tutor = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "math_tutor")
        .unwrap();
    assert_eq!(
        (tutor["builtin"].as_bool(), tutor["category"].as_str()),
        (Some(false), Some("education"))
    );
    let again = app
        .send(
            Method::GET,
            "/skills",
            None,
            &[("if-none-match", etag.as_str())],
        )
        .await
        .expect(304);
    assert!(again.text.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    app.send(
        Method::GET,
        "/skills",
        None,
        &[("if-none-match", "\"old\"")],
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn detail_has_instructions_and_tool_schemas() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/skills/web_research", None, &[])
        .await
        .expect(200);
    assert_eq!(r.body["id"], "web_research");
    assert!(
        r.body["instructions"]
            .as_str()
            .unwrap()
            .contains("web_search")
    );
    let tools = r.body["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["web_search", "fetch_page"]);
    assert_eq!(tools[0]["available"], false, "no search backend in tests");
    assert_eq!(tools[1]["available"], true);
    assert_eq!(tools[1]["parameters"]["type"], "object");
    assert!(tools[1]["description"].is_string() && tools[1]["cacheable"].is_boolean());
    app.send(Method::GET, "/skills/telepathy", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    app.send(Method::GET, "/skills/telepathy/metrics", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn metrics_aggregate_the_last_30_days() {
    let app = spawn_app().await;
    let zero = app
        .send(Method::GET, "/skills/utilities/metrics", None, &[])
        .await
        .expect(200);
    assert_eq!(zero.body["totalCalls"], 0);
    assert_eq!(
        (
            zero.body["errorRate"].as_f64(),
            zero.body["p50Ms"].as_i64(),
            zero.body["p95Ms"].as_i64()
        ),
        (Some(0.0), Some(0), Some(0))
    );
    assert_eq!(zero.body["topTools"], json!([]));
    assert_eq!(zero.body["days"], 30);
    let store = app.store().await;
    let now = Utc::now();
    let metric = |tool: &str, ms: i64, error: bool, skill: &str, at| SkillMetric {
        skill_id: skill.into(),
        tool_name: tool.into(),
        workspace_id: "ws_x".into(),
        duration_ms: ms,
        error,
        created_at: at,
    };
    for (i, ms) in (1..=10).map(|i| (i, i * 10)) {
        let tool = if i <= 7 { "calculator" } else { "current_time" };
        let error = i == 3 || i == 9;
        store
            .skill_metrics()
            .record_skill_metric(&metric(tool, ms, error, "utilities", now))
            .await
            .unwrap();
    }
    // Outside the window, and another skill: neither counts.
    store
        .skill_metrics()
        .record_skill_metric(&metric(
            "calculator",
            5000,
            true,
            "utilities",
            now - Duration::days(31),
        ))
        .await
        .unwrap();
    store
        .skill_metrics()
        .record_skill_metric(&metric("fetch_page", 7000, true, "web_research", now))
        .await
        .unwrap();
    store.close().await;
    let r = app
        .send(Method::GET, "/skills/utilities/metrics", None, &[])
        .await
        .expect(200);
    let b = &r.body;
    assert_eq!(
        (b["skillId"].as_str(), b["totalCalls"].as_i64()),
        (Some("utilities"), Some(10))
    );
    assert!(
        (b["errorRate"].as_f64().unwrap() - 0.2).abs() < 1e-9,
        "{}",
        r.text
    );
    assert_eq!(
        (b["p50Ms"].as_i64(), b["p95Ms"].as_i64()),
        (Some(50), Some(100))
    );
    let top = b["topTools"].as_array().unwrap();
    assert_eq!(
        (top[0]["name"].as_str(), top[0]["calls"].as_i64()),
        (Some("calculator"), Some(7))
    );
    assert!((top[0]["errorRate"].as_f64().unwrap() - 1.0 / 7.0).abs() < 1e-9);
    assert_eq!(
        (top[1]["name"].as_str(), top[1]["calls"].as_i64()),
        (Some("current_time"), Some(3))
    );
    // Aggregates only: nothing identifies a workspace or a user.
    assert!(!r.text.contains("ws_x") && !r.text.contains("usr_"));
}
