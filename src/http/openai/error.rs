//! Errors of `/v1` in OpenAI's shape, `{error: {message, type, param, code}}`, so SDKs raise
//! their own exception classes (401 → AuthenticationError, 404 → NotFoundError, 429 →
//! RateLimitError). Built from Astra's error body and status, so every refusal — extractor,
//! admission, planning or a failed turn — maps the same way.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::dto::{V1ErrorDetailOut, V1ErrorOut};
use crate::error::ApiError;

/// An [`ApiError`] answered in OpenAI's shape.
pub struct V1Error(pub ApiError);

impl From<ApiError> for V1Error {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let body = self.0.body();
        // Astra's own response logs internal errors and computes `Retry-After`; keep both.
        let astra = self.0.into_response();
        let retry_after = astra.headers().get(header::RETRY_AFTER).cloned();
        let mut response = error_response(astra.status(), &body);
        if let Some(v) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    }
}
