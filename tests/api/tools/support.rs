//! A local test server with the pages the tool tests need, and helpers.

use std::collections::HashMap;
use std::time::Duration;

use astra::net::guarded_client;
use astra::tools::{ToolContext, ToolRegistry, ToolsConfig};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};

pub const PAGE_HTML: &str = r#"<!doctype html><html><head><title>Test &amp; Page</title>
<style>.x { color: red }</style><script>document.write("hidden")</script></head>
<body><h1>Welcome</h1><p>Hello   <b>world</b> &ndash; caf&#xe9; &#233;</p>
<ul><li>one</li><li>two</li></ul></body></html>"#;

/// Starts the test server and returns its base URL (`http://127.0.0.1:PORT`).
pub async fn spawn_server() -> String {
    let app = Router::new()
        .route(
            "/page",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    PAGE_HTML,
                )
            }),
        )
        .route("/plain", get(|| async { "just   plain\n\n text" }))
        .route("/big", get(big))
        .route("/slow", get(slow))
        .route(
            "/image",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/png")],
                    vec![0x89u8, b'P', b'N', b'G'],
                )
            }),
        )
        .route("/redirect", get(redirect))
        .route("/hops/{n}", get(hops))
        .route("/echo", any(echo))
        .route("/search", get(searxng))
        .route("/brave", get(brave));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// 1 MiB of text, to hit the byte cap.
async fn big() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "a".repeat(1024 * 1024),
    )
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3)).await;
    "late"
}

async fn redirect(Query(q): Query<HashMap<String, String>>) -> Response {
    match q.get("to") {
        Some(to) => Redirect::temporary(to).into_response(),
        None => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// `/hops/n` redirects to `/hops/n-1` until `/hops/0`, which answers.
async fn hops(Path(n): Path<u32>) -> Response {
    if n == 0 {
        "arrived".into_response()
    } else {
        Redirect::temporary(&format!("/hops/{}", n - 1)).into_response()
    }
}

async fn echo(method: Method, headers: HeaderMap, body: Bytes) -> Response {
    let mut out = HashMap::new();
    for (name, value) in &headers {
        out.insert(
            name.as_str().to_string(),
            value.to_str().unwrap_or("").to_string(),
        );
    }
    let reply = json!({
        "method": method.as_str(),
        "headers": out,
        "body": String::from_utf8_lossy(&body),
    });
    (StatusCode::CREATED, [("x-echo", "yes")], Json(reply)).into_response()
}

/// A fake SearXNG: echoes the query in the first result so tests see it arrived.
async fn searxng(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("format").map(String::as_str) != Some("json") {
        return StatusCode::FORBIDDEN.into_response();
    }
    let query = q.get("q").cloned().unwrap_or_default();
    let results: Vec<Value> = (1..=8)
        .map(|i| {
            json!({
                "title": format!("Result {i} for {query}"),
                "url": format!("https://example.com/{i}"),
                "content": format!("Snippet <b>{i}</b> &amp; more"),
                "engine": "fake",
            })
        })
        .collect();
    Json(json!({ "query": query, "results": results })).into_response()
}

/// A fake Brave Search API that insists on the subscription token.
async fn brave(headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if headers
        .get("x-subscription-token")
        .and_then(|v| v.to_str().ok())
        != Some("brave-test-key")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let query = q.get("q").cloned().unwrap_or_default();
    Json(json!({
        "web": { "results": [
            { "title": format!("<strong>{query}</strong> docs"), "url": "https://brave.example/1", "description": "First" },
            { "title": "Second", "url": "https://brave.example/2", "description": "Second <strong>hit</strong>" }
        ]}
    }))
    .into_response()
}

/// A tool context for tests.
pub fn ctx() -> ToolContext {
    ToolContext::new("usr_test", "ws_test", Some("ses_test".into()), "chad")
}

/// The built-in registry over a guarded client configured like `config`.
pub fn registry(config: &ToolsConfig) -> ToolRegistry {
    let http = guarded_client(config.allow_private_urls, config.fetch.timeout).unwrap();
    ToolRegistry::builtin(config, http)
}

/// Tools config that may reach the local test server.
pub fn private_allowed() -> ToolsConfig {
    ToolsConfig {
        allow_private_urls: true,
        ..ToolsConfig::default()
    }
}
