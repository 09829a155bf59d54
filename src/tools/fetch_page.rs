//! `fetch_page`: read a web page as plain text.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_util::{content_type, guard_url, is_textual, send_capped, truncate_chars};
use super::{Tool, ToolContext, ToolError, html, parse_args};
use crate::config::tools::{FetchLimits, ToolsConfig};

/// Upper bound on `maxChars`, whatever the model asks for.
const MAX_CHARS_CEILING: usize = 200_000;

/// HTTP GET through the outbound guard, with HTML reduced to readable text.
#[derive(Debug, Clone)]
pub struct FetchPage {
    http: reqwest::Client,
    limits: FetchLimits,
    allow_private: bool,
}

impl FetchPage {
    /// Uses `http`, which should be a [`crate::net::guarded_client`].
    pub fn new(config: &ToolsConfig, http: reqwest::Client) -> Self {
        Self {
            http,
            limits: config.fetch,
            allow_private: config.allow_private_urls,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Args {
    url: String,
    max_chars: Option<usize>,
}

#[async_trait]
impl Tool for FetchPage {
    fn name(&self) -> &str {
        "fetch_page"
    }

    fn description(&self) -> &str {
        "Fetch a web page by URL and return its title and readable text (scripts, styles and \
         markup removed). Use it to read a search result or a link the user gave."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "url": { "type": "string", "description": "Absolute http(s) URL." },
                "maxChars": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_CHARS_CEILING,
                    "description": format!(
                        "Maximum characters of text to return (default {}).",
                        self.limits.default_max_chars
                    )
                }
            },
            "required": ["url"],
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        true
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let args: Args = parse_args(args)?;
        let max_chars = args
            .max_chars
            .unwrap_or(self.limits.default_max_chars)
            .clamp(1, MAX_CHARS_CEILING);
        let url = guard_url(&args.url, self.allow_private)?;
        let request = self.http.get(url).header(
            reqwest::header::ACCEPT,
            "text/html, text/plain;q=0.9, */*;q=0.5",
        );
        let page = send_capped(request, self.limits).await?;
        let ct = content_type(&page.headers);
        if !is_textual(&ct) {
            return Err(ToolError::Failed(format!(
                "unsupported content type '{ct}' (only text and HTML pages can be read)"
            )));
        }
        // Extraction is CPU work proportional to the page (up to the byte cap): it runs on
        // the blocking pool so it never stalls a runtime worker serving other requests.
        let body = page.body;
        let (title, text, cut) = tokio::task::spawn_blocking(move || {
            let body = String::from_utf8_lossy(&body);
            let looks_html =
                ct.contains("html") || (ct.is_empty() && body.trim_start().starts_with('<'));
            let (title, mut text) = if looks_html {
                let out = html::extract(&body);
                (out.title, out.text)
            } else {
                (None, html::collapse(&body))
            };
            let cut = truncate_chars(&mut text, max_chars);
            (title, text, cut)
        })
        .await
        .map_err(|e| ToolError::Failed(format!("page extraction failed: {e}")))?;
        Ok(json!({
            "url": page.url.as_str(),
            "status": page.status.as_u16(),
            "title": title,
            "text": text,
            "truncated": page.truncated || cut,
        }))
    }
}
