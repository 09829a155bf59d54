//! fetch_page against the local test server: extraction, caps and time-outs.

use std::time::Duration;

use astra::tools::{FetchLimits, ToolError, ToolsConfig};
use serde_json::json;

use super::support::{ctx, private_allowed, registry, spawn_server};

#[tokio::test]
async fn fetch_page_extracts_title_and_text() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let tool = tools.get("fetch_page").unwrap();
    assert!(tool.cacheable());
    let out = tool
        .execute(&ctx(), json!({ "url": format!("{base}/page") }))
        .await
        .unwrap();
    assert_eq!(out["status"], 200);
    assert_eq!(out["title"], "Test & Page");
    assert_eq!(out["text"], "Welcome\nHello world – café é\none\ntwo");
    assert_eq!(out["truncated"], false);
    assert_eq!(out["url"], format!("{base}/page"));
}

#[tokio::test]
async fn fetch_page_reads_plain_text_and_follows_redirects() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let tool = tools.get("fetch_page").unwrap();
    let out = tool
        .execute(&ctx(), json!({ "url": format!("{base}/plain") }))
        .await
        .unwrap();
    assert_eq!(out["text"], "just plain\ntext");
    assert_eq!(out["title"], serde_json::Value::Null);
    let out = tool
        .execute(&ctx(), json!({ "url": format!("{base}/hops/3") }))
        .await
        .unwrap();
    assert_eq!(out["text"], "arrived");
    assert_eq!(out["url"], format!("{base}/hops/0"));
}

#[tokio::test]
async fn fetch_page_caps_size_and_characters() {
    let base = spawn_server().await;
    let mut config = private_allowed();
    config.fetch.max_bytes = 64 * 1024;
    let tools = registry(&config);
    let tool = tools.get("fetch_page").unwrap();
    let out = tool
        .execute(
            &ctx(),
            json!({ "url": format!("{base}/big"), "maxChars": 1_000_000 }),
        )
        .await
        .unwrap();
    assert_eq!(out["truncated"], true);
    assert_eq!(out["text"].as_str().unwrap().len(), 64 * 1024);
    let out = tool
        .execute(
            &ctx(),
            json!({ "url": format!("{base}/page"), "maxChars": 7 }),
        )
        .await
        .unwrap();
    assert_eq!(out["text"], "Welcome");
    assert_eq!(out["truncated"], true);
}

#[tokio::test]
async fn fetch_page_times_out() {
    let base = spawn_server().await;
    let config = ToolsConfig {
        allow_private_urls: true,
        fetch: FetchLimits {
            timeout: Duration::from_millis(300),
            ..FetchLimits::default()
        },
        ..ToolsConfig::default()
    };
    let tools = registry(&config);
    let started = std::time::Instant::now();
    let err = tools
        .get("fetch_page")
        .unwrap()
        .execute(&ctx(), json!({ "url": format!("{base}/slow") }))
        .await
        .unwrap_err();
    assert_eq!(err, ToolError::Timeout(Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn fetch_page_rejects_bad_urls_and_binary_content() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let tool = tools.get("fetch_page").unwrap();
    for url in [
        "file:///etc/passwd",
        "ftp://example.com/",
        "not a url",
        "/relative",
    ] {
        let err = tool
            .execute(&ctx(), json!({ "url": url }))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ToolError::InvalidArguments(_)),
            "{url}: {err:?}"
        );
    }
    let err = tool
        .execute(&ctx(), json!({ "url": format!("{base}/image") }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Failed(ref m) if m.contains("image/png")));
}
