//! Errors of `/v1` in OpenAI's shape, `{error: {message, type, param, code}}`, so SDKs raise
//! their own exception classes (401 → AuthenticationError, 404 → NotFoundError, 429 →
//! RateLimitError). One layer, [`openai_errors`], rewrites every error answer under `/v1` —
//! authentication, extractors, admission, planning, a failed turn, an unknown path, a wrong
//! method, an overloaded gateway — from Astra's body (`code`, `message`, `details?`) and its
//! status, keeping the headers (`Retry-After`, `RateLimit`, `X-Request-ID`).

use axum::{
    Json,
    body::Body,
    extract::Request,
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    dto::{V1ErrorDetailOut, V1ErrorOut},
    is_v1,
};

/// Error bodies are small; a larger one is replaced by a generic message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The OpenAI error of an Astra error body (`code`, `message`, `details?`) with its status.
pub fn error_body(status: StatusCode, astra: &Value) -> V1ErrorOut {
    let astra_code = astra["code"].as_str().unwrap_or("INTERNAL_ERROR");
    let own_code = || Some(astra_code.to_ascii_lowercase());
    let (kind, code) = match status.as_u16() {
        401 => ("authentication_error", Some("invalid_api_key".to_string())),
        403 => ("permission_error", own_code()),
        404 => ("invalid_request_error", Some("model_not_found".to_string())),
        429 if astra_code == "RATE_LIMIT" => (
            "rate_limit_exceeded",
            Some("rate_limit_exceeded".to_string()),
        ),
        429 => ("rate_limit_exceeded", own_code()),
        s if s >= 500 => ("api_error", own_code()),
        _ => ("invalid_request_error", own_code()),
    };
    let param = astra["details"]
        .as_object()
        .and_then(|d| d.keys().next().cloned());
    V1ErrorOut {
        error: V1ErrorDetailOut {
            message: astra["message"]
                .as_str()
                .unwrap_or("The request failed")
                .to_string(),
            kind: kind.to_string(),
            param,
            code,
        },
    }
}

/// The OpenAI error response of an Astra error body; `Retry-After` from its `retryAfter`.
pub fn error_response(status: StatusCode, astra: &Value) -> Response {
    let mut response = (status, Json(error_body(status, astra))).into_response();
    if let Some(secs) = astra["retryAfter"].as_u64() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// 404 for a path under `/v1` that does not exist, as OpenAI answers it.
pub fn unknown_route(method: &Method, path: &str) -> Response {
    let body = V1ErrorOut {
        error: V1ErrorDetailOut {
            message: format!(
                "Invalid URL ({method} {path}); /v1 serves GET /v1/models and POST \
                 /v1/chat/completions"
            ),
            kind: "invalid_request_error".into(),
            param: None,
            code: Some("unknown_url".into()),
        },
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// Rewrites every error answer of a `/v1` request into OpenAI's shape; other paths and
/// successful answers pass untouched, as do bodies already in OpenAI's shape.
pub async fn openai_errors(req: Request, next: Next) -> Response {
    if !is_v1(req.uri().path()) {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let astra = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v["error"].is_object() => return Response::from_parts(parts, Body::from(bytes)),
        Ok(v) if v["code"].is_string() => v,
        // Not Astra's body (e.g. empty): say what the status says.
        _ => json!({
            "code": status.canonical_reason().unwrap_or("ERROR").to_ascii_uppercase().replace(' ', "_"),
            "message": status.canonical_reason().unwrap_or("The request failed"),
        }),
    };
    let rewritten = error_response(status, &astra);
    let (new_parts, new_body) = rewritten.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, new_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_openai_types_and_codes() {
        let body = |s: u16, code: &str| {
            let b = error_body(
                StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                &json!({"code": code, "message": "m", "details": {"tools": "no"}}),
            );
            (b.error.kind, b.error.code, b.error.param)
        };
        assert_eq!(
            body(401, "UNAUTHORIZED").1.as_deref(),
            Some("invalid_api_key")
        );
        assert_eq!(body(404, "NOT_FOUND").1.as_deref(), Some("model_not_found"));
        assert_eq!(body(429, "RATE_LIMIT").0, "rate_limit_exceeded");
        assert_eq!(body(502, "PROVIDER_ERROR").0, "api_error");
        assert_eq!(body(400, "VALIDATION_ERROR").2.as_deref(), Some("tools"));
        assert_eq!(
            body(405, "METHOD_NOT_ALLOWED").1.as_deref(),
            Some("method_not_allowed")
        );
    }
}
