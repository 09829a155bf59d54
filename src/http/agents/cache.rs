//! Conditional GETs: a strong `ETag` over the JSON body, `Cache-Control`, and 304 when the
//! client's `If-None-Match` still matches. The tag is a hash of the body, so any change to
//! what the client would see changes it, on every replica alike.

use axum::{
    Json,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// `Cache-Control` of per-workspace lists and details.
pub const PRIVATE_30S: &str = "private, max-age=30";
/// `Cache-Control` of public registries.
pub const PUBLIC_60S: &str = "public, max-age=60";

/// The quoted strong ETag of a JSON body.
pub fn etag_of(body: &Value) -> String {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// True when `If-None-Match` lists `etag` (weak or strong) or `*`.
pub fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// 200 with the body, or 304 without it, both with `ETag` and `Cache-Control`. Private
/// responses also vary on the credentials and workspace that shaped them. The tag is taken
/// over the body's JSON value, so it does not depend on the order of the struct's fields.
pub fn cached_json<T: Serialize>(
    request: &HeaderMap,
    body: &T,
    cache_control: &'static str,
) -> ApiResult<Response> {
    let body = serde_json::to_value(body).map_err(|e| ApiError::Internal(e.into()))?;
    let etag = etag_of(&body);
    let mut response = if matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Json(body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if cache_control.starts_with("private") {
        headers.insert(
            header::VARY,
            HeaderValue::from_static("authorization, x-workspace-id"),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag_of(&serde_json::json!({"a": 1}));
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", W/{tag}")).unwrap(),
        );
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!matches(&h, &tag));
    }
}
