//! Shared HTTP plumbing: sending a request, reading bodies under a size cap, and turning
//! non-success statuses into [`ProviderError`]s with the gateway's own message.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ProviderError;

/// Largest non-streaming response body read (Bedrock replies, embedding batches). Bodies
/// are read chunk by chunk and reading stops at the cap, so memory stays bounded.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Largest part of an error body read, only to be logged.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;
/// Characters of an error body written to the debug log.
const MAX_LOGGED_CHARS: usize = 500;

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

/// Send and decode a JSON (non-streaming) response of at most [`MAX_BODY_BYTES`].
pub(crate) async fn send_json<T: DeserializeOwned>(rb: RequestBuilder) -> Result<T, ProviderError> {
    let resp = send(rb).await?;
    let bytes = read_capped(resp, MAX_BODY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        tracing::debug!(error = %e, "provider JSON body did not decode");
        ProviderError::Malformed("response body is not the expected JSON".into())
    })
}

/// Read a body chunk by chunk; past `limit` bytes reading stops with `TooLarge` (a
/// `Content-Length` above the cap is refused before reading anything).
pub(crate) async fn read_capped(
    mut resp: Response,
    limit: usize,
) -> Result<Vec<u8>, ProviderError> {
    let too_large = ProviderError::TooLarge {
        what: "response body",
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ProviderError::from_reqwest(&e, true))?
    {
        if out.len() + chunk.len() > limit {
            return Err(too_large);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
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
    // Read a bounded prefix for the log only: clients get the gateway's message, because the
    // body comes from whatever endpoint answered.
    let mut body = Vec::new();
    let mut resp = resp;
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX_ERROR_BODY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ERROR_BODY_BYTES {
            break;
        }
    }
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .take(MAX_LOGGED_CHARS)
        .collect();
    tracing::debug!(status = status.as_u16(), body = %text, "provider error body");
    ProviderError::Upstream {
        status: status.as_u16(),
    }
}

/// `Retry-After` in (possibly fractional) seconds; HTTP dates are ignored.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// Join a base URL and a path without doubling or dropping the slash.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
