//! The one API error type: an HTTP status, a stable UPPER_SNAKE code and a message.
//!
//! Bodies look like `{"code", "message", "requestId", "details"?}`. Internal errors are logged
//! with their cause and answered with an opaque body.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::request_ctx;

/// Every error a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the input is malformed; `details` maps fields to problems.
    #[error("{message}")]
    Validation {
        /// Summary.
        message: String,
        /// Per-field problems.
        details: Value,
    },
    /// 401: missing or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource (or not visible to the caller).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists with other methods.
    #[error("Method not allowed")]
    MethodNotAllowed,
    /// 409: the request conflicts with current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: body over the limit.
    #[error("Request body is too large")]
    PayloadTooLarge,
    /// 422: an idempotency key was reused with another body.
    #[error("Idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// 409: the first request with this idempotency key is still running.
    #[error("A request with this idempotency key is still in progress")]
    IdempotencyInProgress,
    /// 429: too many requests; retry after the given seconds.
    #[error("Rate limit exceeded")]
    RateLimit {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 429: the monthly token budget is spent.
    #[error("Monthly token budget exceeded")]
    TokenBudgetExceeded {
        /// When the budget resets (RFC 3339).
        reset_at: String,
    },
    /// 429: an agent quota is spent.
    #[error("{message}")]
    QuotaExceeded {
        /// Which quota.
        message: String,
        /// Seconds until it resets.
        retry_after: u64,
    },
    /// 502: the upstream provider failed.
    #[error("{0}")]
    ProviderError(String),
    /// 503: no provider can serve the request now.
    #[error("{0}")]
    ProviderUnavailable(String),
    /// 503: the gateway itself is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 503: the database is unreachable or has no free connection; retry after a few seconds.
    #[error("The database is unavailable; retry shortly")]
    DatabaseUnavailable,
    /// 504: the request ran out of time.
    #[error("Request timed out")]
    Timeout,
    /// 500: a bug or an unexpected failure; never shown to the client.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl ApiError {
    /// A 400 with one field problem.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        let mut details = Map::new();
        details.insert(field.to_string(), Value::String(problem.clone()));
        ApiError::Validation {
            message: format!("{field}: {problem}"),
            details: Value::Object(details),
        }
    }

    /// A 404 naming the kind of thing that was not found.
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimit { .. }
            | ApiError::TokenBudgetExceeded { .. }
            | ApiError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ProviderError(_) => StatusCode::BAD_GATEWAY,
            ApiError::ProviderUnavailable(_)
            | ApiError::Unavailable(_)
            | ApiError::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "VALIDATION_ERROR",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiError::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            ApiError::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            ApiError::RateLimit { .. } => "RATE_LIMIT",
            ApiError::TokenBudgetExceeded { .. } => "TOKEN_BUDGET_EXCEEDED",
            ApiError::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            ApiError::ProviderError(_) => "PROVIDER_ERROR",
            ApiError::ProviderUnavailable(_) => "PROVIDER_UNAVAILABLE",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::DatabaseUnavailable => "DATABASE_UNAVAILABLE",
            ApiError::Timeout => "TIMEOUT",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    /// The client-facing message; internal causes are never exposed.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(_) => "Internal server error".to_string(),
            other => other.to_string(),
        }
    }

    /// `{code, message}` plus extras: the body of the error and of the SSE `error` event.
    pub fn body(&self) -> Value {
        let mut body = json!({ "code": self.code(), "message": self.public_message() });
        match self {
            ApiError::Validation { details, .. } => body["details"] = details.clone(),
            ApiError::TokenBudgetExceeded { reset_at } => body["resetAt"] = json!(reset_at),
            ApiError::RateLimit { retry_after } | ApiError::QuotaExceeded { retry_after, .. } => {
                body["retryAfter"] = json!(retry_after)
            }
            _ => {}
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "internal error");
        }
        let mut body = self.body();
        if let Some(id) = request_ctx::current() {
            body["requestId"] = Value::String(id);
        }
        let mut response = (self.status(), Json(body)).into_response();
        let retry_after = match &self {
            ApiError::RateLimit { retry_after } | ApiError::QuotaExceeded { retry_after, .. } => {
                Some(*retry_after)
            }
            ApiError::TokenBudgetExceeded { reset_at } => {
                chrono::DateTime::parse_from_rfc3339(reset_at)
                    .ok()
                    .map(|t| (t.timestamp() - chrono::Utc::now().timestamp()).max(1) as u64)
            }
            ApiError::DatabaseUnavailable => Some(DATABASE_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The `Retry-After` of a `DATABASE_UNAVAILABLE` answer: about how long a pool needs to
/// reconnect after the database came back.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 3;

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if is_database_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return ApiError::DatabaseUnavailable;
        }
        ApiError::Internal(err.into())
    }
}

impl From<anyhow::Error> for ApiError {
    /// A database outage keeps its 503 even when it travelled as an `anyhow::Error`.
    fn from(err: anyhow::Error) -> Self {
        if database_unavailable_in(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return ApiError::DatabaseUnavailable;
        }
        ApiError::Internal(err)
    }
}

/// Whether an error chain holds a [`sqlx::Error`] that means the database is out of reach.
pub fn database_unavailable_in(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(is_database_unavailable)
}

/// Whether `err` says the database cannot be reached now (as opposed to a bad query): no free
/// connection within the acquire timeout, a broken socket, a server shutting down or refusing
/// connections, SQLite's lock held past its busy timeout. Such failures pass by themselves.
pub fn is_database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL SQLSTATE classes 08 (connection exception), 57P0x (admin or crash
            // shutdown, cannot connect now), 53300 (too many connections); 55000 only as
            // "database … is not currently accepting connections". SQLite's numeric codes 5 and 6
            // (and their extended forms): busy and locked.
            code.starts_with("08")
                || code.starts_with("57P0")
                || code == "53300"
                || (code == "55000" && db.message().contains("not currently accepting connections"))
                || matches!(code.as_ref(), "5" | "6" | "261" | "517")
        }
        _ => false,
    }
}

/// Result alias for handlers and domain code.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_503_database_unavailable_with_retry_after() {
        for err in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
        ] {
            let api = ApiError::from(err);
            assert_eq!(api.code(), "DATABASE_UNAVAILABLE");
            let res = api.into_response();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(res.headers()[header::RETRY_AFTER], "3");
        }
        let wrapped = anyhow::Error::from(sqlx::Error::PoolTimedOut).context("loading agents");
        assert_eq!(ApiError::from(wrapped).code(), "DATABASE_UNAVAILABLE");
    }

    #[test]
    fn other_database_errors_stay_internal() {
        assert_eq!(ApiError::from(sqlx::Error::RowNotFound).code(), "INTERNAL");
        let other = anyhow::anyhow!("something else");
        assert_eq!(ApiError::from(other).code(), "INTERNAL");
    }
}
