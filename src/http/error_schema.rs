//! The schema of every error body, for the OpenAPI document. The body itself is built by
//! `ApiError::into_response` (src/error.rs); this type only describes it, so it is never
//! constructed.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An error: `{code, message, requestId, details?, retryAfter?, resetAt?}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOut {
    /// Stable machine-readable code, e.g. `VALIDATION_ERROR`, `NOT_FOUND`, `RATE_LIMIT`.
    #[schema(example = "NOT_FOUND")]
    pub code: String,
    /// Human-readable message; opaque (`Internal server error`) for 500s.
    pub message: String,
    /// The request's id, also sent as `X-Request-Id`; quote it when reporting a problem.
    pub request_id: String,
    /// Validation errors only: the problem of each field, by field name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    /// Rate limits and quotas only: seconds until a retry may succeed (also `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Token budget only: when the monthly budget resets (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    /// The documented field names are the ones the real error body uses.
    #[test]
    fn the_schema_names_the_fields_of_a_real_error_body() {
        let schema =
            serde_json::to_value(<ErrorOut as utoipa::PartialSchema>::schema()).unwrap_or_default();
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let errors = [
            ApiError::field("name", "bad"),
            ApiError::RateLimit { retry_after: 3 },
            ApiError::TokenBudgetExceeded {
                reset_at: "2026-01-01T00:00:00Z".into(),
            },
        ];
        for err in errors {
            for key in err.body().as_object().cloned().unwrap_or_default().keys() {
                assert!(props.contains_key(key), "{key} missing from {schema}");
            }
        }
        assert!(props.contains_key("requestId"));
    }
}
