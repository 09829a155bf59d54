//! Shared HTTP plumbing: sending a request and turning non-success statuses into
//! [`ProviderError`]s with the upstream's message.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ProviderError;

/// Longest error message kept from an upstream body; bodies can be whole HTML pages.
const MAX_MESSAGE: usize = 500;

/// Send the request and return the response if its status is a success.
pub(crate) async fn send(rb: RequestBuilder) -> Result<Response, ProviderError> {
    let resp = rb
        .send()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e, false))?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    Err(status_error(resp).await)
}

/// Send and decode a JSON (non-streaming) response.
pub(crate) async fn send_json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, ProviderError> {
    let resp = send(rb).await?;
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e, true))?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Malformed(e.to_string()))
}

async fn status_error(resp: Response) -> ProviderError {
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    if status == StatusCode::TOO_MANY_REQUESTS {
        return ProviderError::RateLimited { retry_after };
    }
    let body = resp.text().await.unwrap_or_default();
    ProviderError::Upstream {
        status: status.as_u16(),
        message: error_message(&body),
    }
}

/// `Retry-After` in (possibly fractional) seconds; HTTP dates are ignored.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Pull a human message out of the usual error shapes (`{error:{message}}`, `{message}`,
/// `{error:"…"}`), else the raw body, truncated.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let msg = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    let msg = msg.unwrap_or_else(|| body.trim().to_string());
    msg.chars().take(MAX_MESSAGE).collect()
}

/// Join a base URL and a path without doubling or dropping the slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
