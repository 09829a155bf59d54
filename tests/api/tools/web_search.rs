//! web_search against fake SearXNG and Brave servers.

use astra::tools::{SearchBackend, ToolError, ToolsConfig, WebSearchConfig};
use serde_json::json;

use super::support::{ctx, registry, spawn_server};

fn searxng(base: &str) -> ToolsConfig {
    ToolsConfig {
        web_search: Some(WebSearchConfig {
            backend: SearchBackend::Searxng {
                base_url: base.parse().unwrap(),
            },
        }),
        // Private URLs stay refused: the search backend is operator-configured
        // and trusted, so a SearXNG on a private address must still work.
        ..ToolsConfig::default()
    }
}

#[tokio::test]
async fn web_search_queries_searxng() {
    let base = spawn_server().await;
    let tools = registry(&searxng(&base));
    assert!(tools.offered("web_search"));
    let tool = tools.get("web_search").unwrap();
    assert!(tool.cacheable());
    let out = tool
        .execute(&ctx(), json!({ "query": "rust async", "count": 3 }))
        .await
        .unwrap();
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["title"], "Result 1 for rust async");
    assert_eq!(results[0]["url"], "https://example.com/1");
    assert_eq!(results[0]["snippet"], "Snippet 1 & more");
    let out = tool
        .execute(&ctx(), json!({ "query": "defaults" }))
        .await
        .unwrap();
    assert_eq!(out["results"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn web_search_queries_brave_with_its_key() {
    let base = spawn_server().await;
    let config = ToolsConfig::from_env(&|name| match name {
        "ASTRA_WEB_SEARCH_PROVIDER" => Some("brave".into()),
        "BRAVE_API_KEY" => Some("brave-test-key".into()),
        "ASTRA_WEB_SEARCH_URL" => Some(format!("{base}/brave")),
        _ => None,
    })
    .unwrap();
    let tools = registry(&config);
    let out = tools
        .get("web_search")
        .unwrap()
        .execute(&ctx(), json!({ "query": "axum" }))
        .await
        .unwrap();
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["title"], "axum docs");
    assert_eq!(results[1]["snippet"], "Second hit");
}

#[tokio::test]
async fn web_search_reports_backend_errors_and_bad_queries() {
    let base = spawn_server().await;
    let config = ToolsConfig {
        web_search: Some(WebSearchConfig {
            backend: SearchBackend::Brave {
                endpoint: format!("{base}/brave").parse().unwrap(),
                api_key: "wrong".into(),
            },
        }),
        ..ToolsConfig::default()
    };
    let tools = registry(&config);
    let tool = tools.get("web_search").unwrap();
    let err = tool
        .execute(&ctx(), json!({ "query": "x" }))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolError::Failed(ref m) if m.contains("401")),
        "{err:?}"
    );
    let err = tool
        .execute(&ctx(), json!({ "query": "   " }))
        .await
        .unwrap_err();
    assert!(matches!(err, ToolError::InvalidArguments(_)));
}

#[tokio::test]
async fn web_search_is_registered_but_not_offered_when_unconfigured() {
    let tools = registry(&ToolsConfig::default());
    assert!(tools.get("web_search").is_some());
    assert!(!tools.offered("web_search"));
    let err = tools
        .get("web_search")
        .unwrap()
        .execute(&ctx(), json!({ "query": "x" }))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ToolError::Failed("web search is not configured".into())
    );
}
