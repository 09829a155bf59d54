//! Shared plumbing of the HTTP tools: URL guard, capped body reading and
//! mapping of transport errors to [`ToolError`].

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode, Url};

use super::ToolError;
use crate::config::tools::FetchLimits;
use crate::net::{self, GuardError};

/// A response read up to the byte cap.
pub(crate) struct Capped {
    /// URL after redirects.
    pub url: Url,
    /// Final response status.
    pub status: StatusCode,
    /// Final response headers.
    pub headers: HeaderMap,
    /// Body bytes, at most the configured cap.
    pub body: Vec<u8>,
    /// Whether bytes past the cap were dropped.
    pub truncated: bool,
}

/// Parses and checks a URL supplied by the model.
pub(crate) fn guard_url(raw: &str, allow_private: bool) -> Result<Url, ToolError> {
    let url =
        net::parse_outbound_url(raw).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
    net::check_url(&url, allow_private).map_err(guard_to_tool)?;
    Ok(url)
}

fn guard_to_tool(err: GuardError) -> ToolError {
    match err {
        GuardError::Blocked { .. } => ToolError::Blocked(err.to_string()),
        GuardError::InvalidUrl(_) | GuardError::UnsupportedScheme(_) | GuardError::MissingHost => {
            ToolError::InvalidArguments(err.to_string())
        }
        // A redirect to a non-HTTP scheme or a too long chain is the remote
        // server's doing, not the model's.
        _ => ToolError::Failed(err.to_string()),
    }
}

/// Sends `request` and reads at most `limits.max_bytes` of the body, all within
/// `limits.timeout`.
pub(crate) async fn send_capped(
    request: RequestBuilder,
    limits: FetchLimits,
) -> Result<Capped, ToolError> {
    let timeout = limits.timeout;
    let work = async {
        let mut response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transport_error(e, timeout))?;
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(e, timeout))?
        {
            let room = limits.max_bytes.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                // Stop reading: dropping the response closes the connection.
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Capped {
            url: response.url().clone(),
            status: response.status(),
            headers: response.headers().clone(),
            body,
            truncated,
        })
    };
    // The outer timeout also bounds slow bodies, whatever the client's settings.
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(ToolError::Timeout(timeout)))
}

/// Maps a reqwest error: guard refusals become `Blocked`, time-outs `Timeout`,
/// anything else `Failed` with the error chain as text.
fn transport_error(err: reqwest::Error, timeout: Duration) -> ToolError {
    if let Some(guard) = net::find_guard_error(&err) {
        return guard_to_tool(guard.clone());
    }
    if err.is_timeout() {
        return ToolError::Timeout(timeout);
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ToolError::Failed(message)
}

/// Whether a content type is text the tools may return as a string.
pub(crate) fn is_textual(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("javascript")
        || ct.contains("x-www-form-urlencoded")
}

/// The response's `Content-Type`, empty when absent.
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Keeps the first `max_chars` characters; returns whether anything was cut.
pub(crate) fn truncate_chars(text: &mut String, max_chars: usize) -> bool {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => {
            text.truncate(cut);
            true
        }
        None => false,
    }
}
