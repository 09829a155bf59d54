//! http_request against the local echo endpoint.

use std::time::Duration;

use astra::tools::{FetchLimits, ToolError, ToolsConfig};
use serde_json::{Value, json};

use super::support::{ctx, private_allowed, registry, spawn_server};

#[tokio::test]
async fn http_request_sends_method_headers_and_json_body() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let tool = tools.get("http_request").unwrap();
    assert!(!tool.cacheable());
    let out = tool
        .execute(
            &ctx(),
            json!({
                "method": "post",
                "url": format!("{base}/echo"),
                "headers": { "X-Custom": "42" },
                "body": { "hello": "world" }
            }),
        )
        .await
        .unwrap();
    assert_eq!(out["status"], 201);
    assert_eq!(out["headers"]["x-echo"], "yes");
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["headers"]["x-custom"], "42");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(echoed["body"].as_str().unwrap()).unwrap(),
        json!({ "hello": "world" })
    );
}

#[tokio::test]
async fn http_request_sends_string_bodies_verbatim() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let out = tools
        .get("http_request")
        .unwrap()
        .execute(
            &ctx(),
            json!({ "method": "PUT", "url": format!("{base}/echo"), "headers": { "content-type": "text/plain" }, "body": "raw text" }),
        )
        .await
        .unwrap();
    let echoed: Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["body"], "raw text");
    assert_eq!(echoed["headers"]["content-type"], "text/plain");
}

#[tokio::test]
async fn http_request_validates_arguments() {
    let base = spawn_server().await;
    let tools = registry(&private_allowed());
    let tool = tools.get("http_request").unwrap();
    let url = format!("{base}/echo");
    for args in [
        json!({ "method": "TRACE", "url": url }),
        json!({ "method": "GET", "url": "gopher://example.com" }),
        json!({ "method": "GET", "url": url, "headers": { "Host": "evil" } }),
        json!({ "method": "GET", "url": url, "headers": { "Transfer-Encoding": "chunked" } }),
        json!({ "method": "GET", "url": url, "headers": { "bad name": "x" } }),
        json!({ "url": url }),
    ] {
        let err = tool.execute(&ctx(), args.clone()).await.unwrap_err();
        assert!(
            matches!(err, ToolError::InvalidArguments(_)),
            "{args}: {err:?}"
        );
    }
}

#[tokio::test]
async fn http_request_caps_body_and_times_out() {
    let base = spawn_server().await;
    let config = ToolsConfig {
        allow_private_urls: true,
        fetch: FetchLimits {
            max_bytes: 1000,
            timeout: Duration::from_millis(300),
            ..FetchLimits::default()
        },
        ..ToolsConfig::default()
    };
    let tools = registry(&config);
    let tool = tools.get("http_request").unwrap();
    let out = tool
        .execute(
            &ctx(),
            json!({ "method": "GET", "url": format!("{base}/big") }),
        )
        .await
        .unwrap();
    assert_eq!(out["truncated"], true);
    assert_eq!(out["body"].as_str().unwrap().len(), 1000);
    let err = tool
        .execute(
            &ctx(),
            json!({ "method": "GET", "url": format!("{base}/slow") }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::Timeout(_)));
}
