//! The provider error type and its retry/breaker classification.
//!
//! Every message is the gateway's own: these errors reach clients (error events, traces),
//! and an upstream body may be anything, including text an attacker's endpoint chose or
//! echoes of the request. Upstream bodies are only ever logged, truncated, at debug level.

use std::time::Duration;

/// Everything that can go wrong talking to an inference provider.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// HTTP 429 from upstream; `retry_after` comes from the `Retry-After` header (seconds).
    #[error("rate limited by provider")]
    RateLimited {
        /// How long the provider asked us to wait.
        retry_after: Option<Duration>,
    },
    /// Any other non-success HTTP status from upstream (the body is logged, never shown).
    #[error("Provider returned HTTP {status}")]
    Upstream {
        /// HTTP status code.
        status: u16,
    },
    /// No response (or no next stream item) within the configured time.
    #[error("provider timed out")]
    Timeout,
    /// The connection could not be established or failed before a response.
    #[error("could not reach provider: {0}")]
    Connect(String),
    /// The provider answered with something that is not the expected JSON; the text says
    /// what, in the gateway's words.
    #[error("malformed provider response: {0}")]
    Malformed(String),
    /// The stream broke or ended before the provider said it was finished.
    #[error("provider stream broken: {0}")]
    StreamBroken(String),
    /// A response line, event or body exceeded the gateway's cap; reading stopped there.
    #[error("provider response too large: {what} exceeded {limit} bytes")]
    TooLarge {
        /// Which cap: `SSE line`, `SSE event`, `response body`.
        what: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// The target endpoint may not be called (outbound guard) or cannot carry these
    /// credentials.
    #[error("provider endpoint refused: {0}")]
    EndpointRefused(String),
    /// The provider's circuit breaker is open and no fallback could serve.
    #[error("provider {provider} is unavailable (circuit open)")]
    CircuitOpen {
        /// Provider id.
        provider: String,
    },
    /// The provider is unknown or has no credentials.
    #[error("provider {provider} is not configured")]
    NotConfigured {
        /// Provider id.
        provider: String,
    },
    /// The provider cannot do what was asked (e.g. embeddings on Anthropic).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The request cannot be expressed in the provider's format (e.g. non-JSON tool arguments).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The `inference:` configuration is invalid.
    #[error("invalid inference configuration: {0}")]
    InvalidConfig(String),
}

impl ProviderError {
    /// Whether trying the same call again may succeed: 429, 5xx (and Cloudflare-style 52x),
    /// timeouts, connection failures and streams that broke before any output.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout | Self::Connect(_) | Self::StreamBroken(_) => {
                true
            }
            Self::Upstream { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// Whether this error says something about the provider's health (and so feeds its
    /// circuit breaker). Client-side mistakes such as 400/401/404 do not.
    pub fn counts_against_breaker(&self) -> bool {
        self.is_retryable() || matches!(self, Self::Malformed(_) | Self::TooLarge { .. })
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Suggested API error code (see the design's error table) for the HTTP layer.
    pub fn api_code(&self) -> &'static str {
        match self {
            Self::CircuitOpen { .. } | Self::NotConfigured { .. } | Self::RateLimited { .. } => {
                "PROVIDER_UNAVAILABLE"
            }
            Self::Timeout => "TIMEOUT",
            _ => "PROVIDER_ERROR",
        }
    }

    /// Suggested HTTP status for [`ProviderError::api_code`].
    pub fn http_status(&self) -> u16 {
        match self.api_code() {
            "PROVIDER_UNAVAILABLE" => 503,
            "TIMEOUT" => 504,
            _ => 502,
        }
    }

    /// Map a transport error; `during_body` distinguishes a broken stream from a failed request.
    ///
    /// reqwest's text names the URL (the operator's base URL, maybe with secrets in it), so
    /// only the outbound guard's own refusal is passed on; the rest is logged at debug.
    pub(crate) fn from_reqwest(err: &reqwest::Error, during_body: bool) -> Self {
        tracing::debug!(error = %err, during_body, "provider transport error");
        if err.is_timeout() {
            Self::Timeout
        } else if let Some(guard) = crate::net::find_guard_error(err) {
            Self::EndpointRefused(guard.to_string())
        } else if during_body {
            Self::StreamBroken("connection lost while reading the response".into())
        } else if err.is_decode() {
            Self::Malformed("response could not be decoded".into())
        } else if err.is_redirect() {
            Self::Connect("redirects are not followed".into())
        } else {
            Self::Connect("connection failed".into())
        }
    }
}

/// Maps a provider failure to the gateway's error, keyed on its stable code. Lives here, not
/// in `crate::error`, so the error module sits below every feature.
impl From<ProviderError> for crate::error::ApiError {
    fn from(err: ProviderError) -> Self {
        match err.api_code() {
            "PROVIDER_UNAVAILABLE" => Self::ProviderUnavailable(err.to_string()),
            "TIMEOUT" => Self::Timeout,
            _ => Self::ProviderError(err.to_string()),
        }
    }
}
