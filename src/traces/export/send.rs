//! One export request: `POST {endpoint}/v1/traces` with an OTLP/JSON body, retried on the
//! failures the OTLP specification calls retryable (no response, 429, 502, 503, 504) with
//! a short exponential backoff that honours `Retry-After`; every span ends up counted as
//! exported or failed (a collector's `partialSuccess.rejectedSpans` count as failed).

use std::time::Duration;

use anyhow::Context;
use reqwest::{
    StatusCode, Url,
    header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER},
    redirect::Policy,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::{
    config::Secret,
    net::guarded_builder,
    observability::{self, OtlpOutcome},
    traces::otlp::{ExportTraceServiceRequest, Span},
};

/// Requests per batch at most (the first and two retries).
const MAX_ATTEMPTS: u32 = 3;
/// First retry delay; doubled per retry.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Longest wait a `Retry-After` may impose; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Whether a failed request may be retried: during normal operation yes (the wait ends early
/// at shutdown), during the last flush at shutdown no.
#[derive(Clone, Copy)]
pub(super) enum Retry<'a> {
    /// Retry, cutting waits short once this token is cancelled.
    Yes(&'a CancellationToken),
    /// One attempt only.
    No,
}

/// The HTTP side of the exporter.
pub(super) struct Sender {
    client: reqwest::Client,
    url: Url,
}

/// How one request ended.
enum Attempt {
    /// Accepted; how many spans the collector rejected anyway.
    Accepted { rejected: usize },
    /// Worth another try, after at least this long (`Retry-After`).
    Retryable {
        reason: String,
        after: Option<Duration>,
    },
    /// Refused for good.
    Failed(String),
}

impl Sender {
    /// A sender to `url` with `headers` on every request.
    pub(super) fn new(
        url: Url,
        headers: &[(String, Secret)],
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut defaults = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("ASTRA_OTLP_HEADERS: invalid name {name:?}"))?;
            let mut value = HeaderValue::from_str(value.expose())
                .with_context(|| format!("ASTRA_OTLP_HEADERS: invalid value of {name}"))?;
            value.set_sensitive(true);
            defaults.insert(name, value);
        }
        // Operator configuration, usually a private address: see the module docs of
        // `traces::export`. A collector has no reason to redirect, so redirects are refused.
        let client = guarded_builder(true)
            .redirect(Policy::none())
            .default_headers(defaults)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .context("ASTRA_OTLP_ENDPOINT: HTTP client")?;
        Ok(Self { client, url })
    }

    /// Sends `spans` as one request and counts how they ended.
    pub(super) async fn send(&self, spans: Vec<Span>, retry: Retry<'_>) {
        let count = spans.len();
        if count == 0 {
            return;
        }
        let body = match serde_json::to_vec(
            &ExportTraceServiceRequest::of(spans).with_instance(crate::cluster::replica_id()),
        ) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(error = %e, "OTLP export: could not encode spans");
                observability::otlp_spans(OtlpOutcome::Failed, count);
                return;
            }
        };
        let mut attempt = 0;
        let reason = loop {
            attempt += 1;
            match self.post(&body).await {
                Attempt::Accepted { rejected } => {
                    let rejected = rejected.min(count);
                    observability::otlp_spans(OtlpOutcome::Exported, count - rejected);
                    observability::otlp_spans(OtlpOutcome::Failed, rejected);
                    return;
                }
                Attempt::Failed(reason) => break reason,
                Attempt::Retryable { reason, after } => {
                    let Retry::Yes(shutdown) = retry else {
                        break reason;
                    };
                    if attempt >= MAX_ATTEMPTS {
                        break reason;
                    }
                    let backoff = BACKOFF_BASE.saturating_mul(1 << (attempt - 1));
                    let wait = after.map_or(backoff, |a| a.min(MAX_RETRY_AFTER).max(backoff));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        };
        tracing::warn!(spans = count, attempts = attempt, %reason, "OTLP export failed");
        observability::otlp_spans(OtlpOutcome::Failed, count);
    }

    async fn post(&self, body: &[u8]) -> Attempt {
        let sent = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let res = match sent {
            Ok(res) => res,
            Err(e) => {
                return Attempt::Retryable {
                    reason: format!("request failed: {e}"),
                    after: None,
                };
            }
        };
        let status = res.status();
        if status.is_success() {
            let body: Value = res.json().await.unwrap_or(Value::Null);
            return Attempt::Accepted {
                rejected: rejected_spans(&body),
            };
        }
        let reason = format!("collector answered {status}");
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        ) {
            let after = res
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Attempt::Retryable { reason, after };
        }
        Attempt::Failed(reason)
    }
}

/// `partialSuccess.rejectedSpans` of an export response (an `int64`, so a string in JSON;
/// a number is accepted too); 0 when absent.
fn rejected_spans(body: &Value) -> usize {
    let rejected = &body["partialSuccess"]["rejectedSpans"];
    let n = rejected
        .as_u64()
        .or_else(|| rejected.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    if n > 0 {
        let message = body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap_or("");
        tracing::warn!(rejected = n, message, "OTLP collector rejected spans");
    }
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partial_success_counts_rejected_spans() {
        assert_eq!(rejected_spans(&json!({})), 0);
        assert_eq!(rejected_spans(&Value::Null), 0);
        let partial = json!({"partialSuccess": {"rejectedSpans": "2", "errorMessage": "x"}});
        assert_eq!(rejected_spans(&partial), 2);
        assert_eq!(
            rejected_spans(&json!({"partialSuccess": {"rejectedSpans": 3}})),
            3
        );
    }
}
