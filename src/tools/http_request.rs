//! `http_request`: a general HTTP call for APIs the model was told about.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::http_util::{guard_url, send_capped, truncate_chars};
use super::{Tool, ToolContext, ToolError, parse_args};
use crate::config::tools::{FetchLimits, ToolsConfig};

/// Headers the model may not set: they control framing or routing, and letting
/// a model forge them invites request smuggling or virtual-host tricks.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "proxy-authorization",
];

/// Any-method HTTP request through the outbound guard; never cached.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    http: reqwest::Client,
    limits: FetchLimits,
    allow_private: bool,
}

impl HttpRequest {
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
#[serde(deny_unknown_fields)]
struct Args {
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<Value>,
}

fn build_request(
    client: &reqwest::Client,
    args: Args,
    allow_private: bool,
) -> Result<reqwest::RequestBuilder, ToolError> {
    let method = match args.method.trim().to_ascii_uppercase().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => {
            Method::from_bytes(m.as_bytes())
                .map_err(|e| ToolError::InvalidArguments(e.to_string()))?
        }
        other => {
            return Err(ToolError::InvalidArguments(format!(
                "unsupported method '{other}'"
            )));
        }
    };
    let url = guard_url(&args.url, allow_private)?;
    let mut request = client.request(method, url);
    let mut has_content_type = false;
    for (name, value) in &args.headers {
        let lower = name.to_ascii_lowercase();
        if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
            return Err(ToolError::InvalidArguments(format!(
                "header '{name}' may not be set"
            )));
        }
        has_content_type |= lower == "content-type";
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ToolError::InvalidArguments(format!("invalid header name '{name}'")))?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            ToolError::InvalidArguments(format!("invalid value for header '{name}'"))
        })?;
        request = request.header(name, value);
    }
    request = match args.body {
        None | Some(Value::Null) => request,
        Some(Value::String(text)) => request.body(text),
        // Structured bodies are sent as JSON, the common case for APIs.
        Some(other) => {
            if !has_content_type {
                request = request.header(CONTENT_TYPE, "application/json");
            }
            request.body(other.to_string())
        }
    };
    Ok(request)
}

#[async_trait]
impl Tool for HttpRequest {
    fn name(&self) -> &str {
        "http_request"
    }

    fn description(&self) -> &str {
        "Make an HTTP request (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS) to a public URL \
         with optional headers and body; returns status, headers and the response body as text."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "method": {
                    "type": "string",
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                },
                "url": { "type": "string", "description": "Absolute http(s) URL." },
                "headers": {
                    "type": "object",
                    "additionalProperties": { "type": "string" },
                    "description": "Request headers."
                },
                "body": {
                    "description": "Request body: a string is sent as is, anything else as JSON."
                }
            },
            "required": ["method", "url"],
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let args: Args = parse_args(args)?;
        let request = build_request(&self.http, args, self.allow_private)?;
        let response = send_capped(request, self.limits).await?;
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &response.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_string())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let mut body = String::from_utf8_lossy(&response.body).into_owned();
        let cut = truncate_chars(&mut body, self.limits.default_max_chars);
        Ok(json!({
            "url": response.url.as_str(),
            "status": response.status.as_u16(),
            "headers": headers,
            "body": body,
            "truncated": response.truncated || cut,
        }))
    }
}
