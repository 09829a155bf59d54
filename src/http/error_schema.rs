//! The OpenAPI schema of an error body. `ApiError` builds the body itself (`error.rs`); this
//! type only describes it, so every operation can name the shape of its error statuses.

use serde::Serialize;
use utoipa::ToSchema;

/// `{code, message, requestId, details?, retryAfter?, resetAt?}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOut {
    /// Stable machine-readable code (`VALIDATION_ERROR`, `NOT_FOUND`, …).
    pub code: String,
    /// Human-readable message; opaque for internal errors.
    pub message: String,
    /// The request's `X-Request-ID`.
    pub request_id: String,
    /// Per-field problems (`VALIDATION_ERROR` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// Seconds until a retry may succeed (`RATE_LIMIT`, `QUOTA_EXCEEDED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// When the monthly budget resets, RFC 3339 (`TOKEN_BUDGET_EXCEEDED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<String>,
}
