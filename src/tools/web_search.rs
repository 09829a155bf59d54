//! `web_search`: search the web through the configured backend.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_util::send_capped;
use super::{Tool, ToolContext, ToolError, html, parse_args};
use crate::config::tools::{FetchLimits, SearchBackend, ToolsConfig};

const DEFAULT_COUNT: usize = 5;
const MAX_COUNT: usize = 10;
const MAX_QUERY_CHARS: usize = 400;

/// Web search via SearXNG or Brave. Without a backend it stays registered so it
/// is discoverable, but is not offered to models.
#[derive(Debug, Clone)]
pub struct WebSearch {
    backend: Option<SearchBackend>,
    http: reqwest::Client,
    limits: FetchLimits,
}

impl WebSearch {
    /// `http` talks to the operator-configured backend, which is trusted and may
    /// well be a private address (a SearXNG next to the gateway), so it is not
    /// the guarded client.
    pub fn new(config: &ToolsConfig, http: reqwest::Client) -> Self {
        Self {
            backend: config.web_search.as_ref().map(|w| w.backend.clone()),
            http,
            limits: config.fetch,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    query: String,
    count: Option<usize>,
}

#[derive(Deserialize)]
struct SearxResponse {
    #[serde(default)]
    results: Vec<SearxResult>,
}

#[derive(Deserialize)]
struct SearxResult {
    #[serde(default)]
    title: String,
    url: String,
    #[serde(default)]
    content: String,
}

#[derive(Deserialize)]
struct BraveResponse {
    web: Option<BraveWeb>,
}

#[derive(Deserialize)]
struct BraveWeb {
    #[serde(default)]
    results: Vec<BraveResult>,
}

#[derive(Deserialize)]
struct BraveResult {
    #[serde(default)]
    title: String,
    url: String,
    #[serde(default)]
    description: String,
}

/// Backends put markup (`<strong>`) and entities in titles and snippets.
fn plain(s: &str) -> String {
    html::extract(s).text.replace('\n', " ")
}

fn result(title: &str, url: &str, snippet: &str) -> Value {
    json!({ "title": plain(title), "url": url, "snippet": plain(snippet) })
}

impl WebSearch {
    async fn search(
        &self,
        backend: &SearchBackend,
        query: &str,
        count: usize,
    ) -> Result<Vec<Value>, ToolError> {
        let request = match backend {
            SearchBackend::Searxng { base_url } => {
                let mut url = base_url.clone();
                // Keep any path prefix the instance is mounted under.
                let path = format!("{}/search", url.path().trim_end_matches('/'));
                url.set_path(&path);
                url.query_pairs_mut()
                    .append_pair("format", "json")
                    .append_pair("q", query);
                self.http.get(url)
            }
            SearchBackend::Brave { endpoint, api_key } => {
                let mut url = endpoint.clone();
                url.query_pairs_mut()
                    .append_pair("q", query)
                    .append_pair("count", &count.to_string());
                self.http
                    .get(url)
                    .header("X-Subscription-Token", api_key.as_str())
            }
        };
        let response = send_capped(
            request.header(reqwest::header::ACCEPT, "application/json"),
            self.limits,
        )
        .await?;
        if !response.status.is_success() {
            return Err(ToolError::Failed(format!(
                "search backend answered HTTP {}",
                response.status.as_u16()
            )));
        }
        if response.truncated {
            return Err(ToolError::Failed(
                "search backend response is too large".into(),
            ));
        }
        let invalid = |e: serde_json::Error| {
            ToolError::Failed(format!("search backend sent invalid JSON: {e}"))
        };
        let results = match backend {
            SearchBackend::Searxng { .. } => {
                serde_json::from_slice::<SearxResponse>(&response.body)
                    .map_err(invalid)?
                    .results
                    .iter()
                    .take(count)
                    .map(|r| result(&r.title, &r.url, &r.content))
                    .collect()
            }
            SearchBackend::Brave { .. } => serde_json::from_slice::<BraveResponse>(&response.body)
                .map_err(invalid)?
                .web
                .map(|w| w.results)
                .unwrap_or_default()
                .iter()
                .take(count)
                .map(|r| result(&r.title, &r.url, &r.description))
                .collect(),
        };
        Ok(results)
    }
}

#[async_trait]
impl Tool for WebSearch {
    fn name(&self) -> &str {
        "web_search"
    }

    fn description(&self) -> &str {
        "Search the web. Returns a list of results with title, URL and snippet; read a result \
         in full with fetch_page."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "description": "Search terms." },
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_COUNT,
                    "description": format!("Number of results (default {DEFAULT_COUNT}).")
                }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        true
    }

    fn estimated_cost(&self) -> f64 {
        match self.backend {
            // Brave's paid plans bill per thousand queries.
            Some(SearchBackend::Brave { .. }) => 0.005,
            _ => 0.0,
        }
    }

    fn available(&self) -> bool {
        self.backend.is_some()
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let Some(backend) = &self.backend else {
            return Err(ToolError::Failed("web search is not configured".into()));
        };
        let args: Args = parse_args(args)?;
        let query = args.query.trim();
        if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
            return Err(ToolError::InvalidArguments(format!(
                "query must be 1 to {MAX_QUERY_CHARS} characters"
            )));
        }
        let count = args.count.unwrap_or(DEFAULT_COUNT).clamp(1, MAX_COUNT);
        let results = self.search(backend, query, count).await?;
        Ok(json!({ "query": query, "results": results }))
    }
}
