//! current_time, calculator and the memory tools, executed through the registry.

use astra::tools::{ToolContext, ToolError, ToolsConfig};
use serde_json::json;

use super::support::{ctx, registry};
use crate::helpers::spawn_app;

#[tokio::test]
async fn current_time_in_a_timezone() {
    let tools = registry(&ToolsConfig::default());
    let tool = tools.get("current_time").unwrap();
    let before = chrono::Utc::now().timestamp();
    let out = tool
        .execute(&ctx(), json!({ "timezone": "Asia/Tokyo" }))
        .await
        .unwrap();
    assert_eq!(out["timezone"], "Asia/Tokyo");
    assert_eq!(out["utcOffset"], "+09:00");
    assert!(out["iso"].as_str().unwrap().ends_with("+09:00"));
    let unix = out["unix"].as_i64().unwrap();
    assert!((unix - before).abs() <= 2);
    let weekdays = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    assert!(weekdays.contains(&out["weekday"].as_str().unwrap()));
}

#[tokio::test]
async fn current_time_defaults_to_utc_and_rejects_unknown_zones() {
    let tools = registry(&ToolsConfig::default());
    let tool = tools.get("current_time").unwrap();
    let out = tool.execute(&ctx(), json!({})).await.unwrap();
    assert_eq!(out["timezone"], "UTC");
    assert_eq!(out["utcOffset"], "+00:00");
    let err = tool
        .execute(&ctx(), json!({ "timezone": "Mars/Olympus" }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(ref m) if m.contains("Mars/Olympus")));
    let err = tool
        .execute(&ctx(), json!({ "tz": "UTC" }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)));
}

#[tokio::test]
async fn calculator_respects_precedence() {
    let tools = registry(&ToolsConfig::default());
    let calc = tools.get("calculator").unwrap();
    for (expr, want) in [
        ("2 + 3 * 4", json!(14)),
        ("(2 + 3) * 4", json!(20)),
        ("-2 ^ 2", json!(-4)),
        ("2 ^ 3 ^ 2", json!(512)),
        ("10 / 4", json!(2.5)),
        ("sqrt(16) + max(1, 9) % 4", json!(5)),
        ("round(e * 100) / 100", json!(2.72)),
    ] {
        let out = calc
            .execute(&ctx(), json!({ "expression": expr }))
            .await
            .unwrap();
        assert_eq!(out["result"], want, "{expr}");
    }
}

#[tokio::test]
async fn calculator_rejects_division_by_zero_and_garbage() {
    let tools = registry(&ToolsConfig::default());
    let calc = tools.get("calculator").unwrap();
    for expr in [
        "1 / 0",
        "7 % 0",
        "2 +* 3",
        "import os",
        "x = 1",
        "__import__('os')",
        "(1",
        "",
    ] {
        let err = calc
            .execute(&ctx(), json!({ "expression": expr }))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ToolError::InvalidArguments(_)),
            "{expr}: {err:?}"
        );
    }
    let err = calc
        .execute(&ctx(), json!({ "expression": "1 / 0" }))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("division by zero"));
    let err = calc.execute(&ctx(), json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)));
}

#[tokio::test]
async fn memory_tools_are_offered_once_bound_to_a_store() {
    // Without a store they are declared (skills can name them) but not offered.
    let tools = registry(&ToolsConfig::default());
    for name in ["memory_search", "memory_write", "profile_update"] {
        let tool = tools.get(name).unwrap();
        assert!(
            !tools.offered(name),
            "{name} must not be offered without a store"
        );
        assert_eq!(tool.parameters()["type"], "object");
        let err = tool
            .execute(&ctx(), json!({ "query": "x" }))
            .await
            .unwrap_err();
        assert_eq!(err, ToolError::Failed("memory is not enabled".into()));
    }
    for name in ["current_time", "calculator", "fetch_page", "http_request"] {
        assert!(tools.offered(name), "{name} should be offered");
    }
    let names: Vec<String> = tools.list().iter().map(|t| t.name().to_string()).collect();
    assert_eq!(names.len(), 8);
    assert!(!tools.offered("no_such_tool"));

    // Bound to the application's store they are offered and act for the context's user.
    let app = spawn_app().await;
    let (token, user_id, _) = app.register("tools-memory@example.com").await;
    let ws = app.workspace(&token, "Tools").await;
    let store = app.store().await;
    let embedders = astra::memory::embed::Embedders::new(&Default::default(), None);
    let tools = registry(&ToolsConfig::default()).with_memory(&store, embedders);
    for name in ["memory_search", "memory_write", "profile_update"] {
        assert!(tools.offered(name), "{name} should be offered");
    }
    let ctx = ToolContext::new(user_id.as_str(), ws.as_str(), None, "chad");
    let write = tools.get("memory_write").unwrap();
    let out = write
        .execute(&ctx, json!({ "content": "Prefers green tea" }))
        .await
        .unwrap();
    assert_eq!(out, json!({ "saved": true, "tier": "note", "index": 0 }));
    let out = write
        .execute(&ctx, json!({ "content": "Went hiking", "tier": "daily" }))
        .await
        .unwrap();
    assert_eq!(out["tier"], "daily");
    assert!(out["date"].is_string());
    let err = write
        .execute(&ctx, json!({ "content": "" }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)), "{err:?}");
    let err = write
        .execute(&ctx, json!({ "content": "x", "tier": "weekly" }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)), "{err:?}");
    let update = tools.get("profile_update").unwrap();
    let out = update
        .execute(&ctx, json!({ "set": { "drink": "tea", "pet": "cat" } }))
        .await
        .unwrap();
    assert_eq!(out["profile"], json!({ "drink": "tea", "pet": "cat" }));
    let out = update
        .execute(&ctx, json!({ "set": { "pet": null }, "remove": ["drink"] }))
        .await
        .unwrap();
    assert_eq!(out["profile"], json!({}));
    let err = update.execute(&ctx, json!({})).await.unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)), "{err:?}");
    let search = tools.get("memory_search").unwrap();
    let out = search
        .execute(&ctx, json!({ "query": "tea", "topK": 5 }))
        .await
        .unwrap();
    assert_eq!(out["items"][0]["content"], "Prefers green tea");
    assert_eq!(out["items"][0]["tier"], "note");
    let err = search
        .execute(&ctx, json!({ "query": "tea", "topK": 0 }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)), "{err:?}");
}
