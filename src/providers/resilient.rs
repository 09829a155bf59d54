//! Resilient calls, streamed or whole: per-request timeout, retries with jittered
//! exponential backoff that honour `Retry-After`, circuit breakers, and an optional
//! fallback target.
//!
//! Retries happen only before the first event: once output has started, a failure is
//! reported as an error item, because replaying would duplicate what the client saw.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};
use rand::Rng;
use serde::Serialize;

use super::breaker::{BreakerKey, BreakerState, CircuitBreakers};
use super::error::ProviderError;
use super::registry::ProviderRegistry;
use super::target::Target;
use super::types::{ChatRequest, ChatResponse, Embeddings, EventStream, Provider, StreamEvent};
use crate::config::inference::RetryConfig;
use crate::observability::InferenceOutcome;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The stream started.
    Ok,
    /// The call failed.
    Error,
    /// Not sent: the breaker was open.
    CircuitOpen,
}

/// One attempt, for traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptRecord {
    /// Provider id.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// 1-based attempt number for this target.
    pub attempt: u32,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Upstream HTTP status when the failure carried one.
    pub http_status: Option<u16>,
    /// Time until the first event or the failure.
    pub latency_ms: u64,
    /// When the attempt was made (for the trace's timeline).
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The error, if any.
    pub error: Option<String>,
    /// Breaker state when the attempt was considered.
    pub breaker_state: &'static str,
}

/// Stream from `primary`, falling back to `fallback` when the primary's breaker is open or
/// its retries are exhausted on retryable errors. Returns the stream, the target that
/// served it, and every attempt made.
pub async fn chat_stream_resilient(
    registry: &ProviderRegistry,
    primary: Target,
    fallback: Option<Target>,
    req: &ChatRequest,
) -> Result<(EventStream, Target, Vec<AttemptRecord>), ProviderError> {
    let (result, attempts) = chat_stream_traced(registry, primary, fallback, req).await;
    result.map(|(stream, target)| (stream, target, attempts))
}

/// Like [`chat_stream_resilient`], but the attempts are returned on failure too.
pub async fn chat_stream_traced(
    registry: &ProviderRegistry,
    primary: Target,
    fallback: Option<Target>,
    req: &ChatRequest,
) -> (
    Result<(EventStream, Target), ProviderError>,
    Vec<AttemptRecord>,
) {
    let (result, attempts) = with_retries(registry, primary, fallback, req, |p, r| async move {
        first_event(p.as_ref(), &r).await
    })
    .await;
    let idle = registry.config().timeout;
    let breakers = registry.breakers().clone();
    let result = result
        .map(|((first, rest), target, key)| (guard(first, rest, idle, breakers, key), target));
    (result, attempts)
}

/// A whole (non-streaming) completion through [`Provider::chat`], with the same timeout,
/// retries, breakers and fallback as a stream; the timeout bounds the whole call.
pub async fn chat_traced(
    registry: &ProviderRegistry,
    primary: Target,
    fallback: Option<Target>,
    req: &ChatRequest,
) -> (
    Result<(ChatResponse, Target), ProviderError>,
    Vec<AttemptRecord>,
) {
    let (result, attempts) = with_retries(registry, primary, fallback, req, |p, r| async move {
        p.chat(&r).await
    })
    .await;
    (result.map(|(resp, target, _)| (resp, target)), attempts)
}

/// Embeddings of `inputs` (one vector per input, in order, with the billed input tokens when
/// reported) through [`Provider::embed_billed`], with the same timeout, retries and circuit
/// breaker as inference (no fallback target).
pub async fn embed_resilient(
    registry: &ProviderRegistry,
    target: Target,
    inputs: &[String],
) -> Result<Embeddings, ProviderError> {
    let inputs: Arc<[String]> = inputs.into();
    let (result, _) = with_retries(registry, target, None, &ChatRequest::default(), |p, r| {
        let inputs = inputs.clone();
        async move { p.embed_billed(&r.model, &inputs).await }
    })
    .await;
    result.map(|(embeddings, _, _)| embeddings)
}

/// The attempt loop shared by both call shapes: `call` runs one attempt (under the
/// timeout) until it succeeds, fails for good, or the retries and the fallback run out.
async fn with_retries<T, F, Fut>(
    registry: &ProviderRegistry,
    primary: Target,
    fallback: Option<Target>,
    req: &ChatRequest,
    call: F,
) -> (
    Result<(T, Target, BreakerKey), ProviderError>,
    Vec<AttemptRecord>,
)
where
    F: Fn(Arc<dyn Provider>, Arc<ChatRequest>) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let cfg = registry.config();
    let breakers = registry.breakers();
    let mut attempts = Vec::new();
    let mut last_err = None;
    for target in std::iter::once(primary).chain(fallback) {
        let (provider, key) = match registry.resolve(&target) {
            Ok(r) => (r.provider, r.breaker),
            Err(e) => {
                attempts.push(record(
                    &target,
                    1,
                    Instant::now(),
                    Some(&e),
                    BreakerState::Closed,
                ));
                last_err = Some(e);
                continue;
            }
        };
        // One copy per target (its model differs); attempts share it.
        let mut req = req.clone();
        req.model = target.model.clone();
        let req = Arc::new(req);
        for attempt in 0..=cfg.retries.max_retries {
            breakers.pull_shared(&key).await;
            let state = breakers.state_of(&key);
            if state == BreakerState::Open {
                let e = ProviderError::CircuitOpen {
                    provider: target.provider.clone(),
                };
                let mut rec = record(&target, attempt + 1, Instant::now(), Some(&e), state);
                rec.outcome = AttemptOutcome::CircuitOpen;
                attempts.push(rec);
                last_err = Some(e);
                break;
            }
            let started = Instant::now();
            let result = tokio::time::timeout(cfg.timeout, call(provider.clone(), req.clone()))
                .await
                .unwrap_or(Err(ProviderError::Timeout));
            match result {
                Ok(value) => {
                    breakers.success_of(&key);
                    attempts.push(record(&target, attempt + 1, started, None, state));
                    return (Ok((value, target, key)), attempts);
                }
                Err(e) => {
                    if e.counts_against_breaker() {
                        breakers.failure_shared(&key).await;
                    }
                    tracing::warn!(provider = %target.provider, model = %target.model, attempt = attempt + 1, error = %e, "provider attempt failed");
                    attempts.push(record(&target, attempt + 1, started, Some(&e), state));
                    if !e.is_retryable() {
                        return (Err(e), attempts);
                    }
                    let delay = backoff(&cfg.retries, attempt, e.retry_after());
                    last_err = Some(e);
                    match delay {
                        Some(d) if attempt < cfg.retries.max_retries => tokio::time::sleep(d).await,
                        _ => break,
                    }
                }
            }
        }
    }
    let err = last_err.unwrap_or(ProviderError::NotConfigured {
        provider: String::new(),
    });
    (Err(err), attempts)
}

/// Start the stream and wait for its first event, so failures before any output can be retried.
async fn first_event(
    provider: &dyn Provider,
    req: &ChatRequest,
) -> Result<(StreamEvent, EventStream), ProviderError> {
    let mut stream = provider.chat_stream(req).await?;
    match stream.next().await {
        Some(Ok(first)) => Ok((first, stream)),
        Some(Err(e)) => Err(e),
        None => Err(ProviderError::StreamBroken("empty stream".into())),
    }
}

/// Re-attach the first event, bound the wait for each later one, and let mid-stream
/// failures count against the provider's breaker.
fn guard(
    first: StreamEvent,
    rest: EventStream,
    idle: Duration,
    breakers: Arc<CircuitBreakers>,
    provider: BreakerKey,
) -> EventStream {
    let tail = stream::unfold(Some((rest, breakers, provider)), move |state| async move {
        let (mut rest, breakers, provider) = state?;
        let item = match tokio::time::timeout(idle, rest.next()).await {
            Ok(Some(Ok(ev))) => return Some((Ok(ev), Some((rest, breakers, provider)))),
            Ok(None) => return None,
            Ok(Some(Err(e))) => e,
            Err(_) => ProviderError::Timeout,
        };
        if item.counts_against_breaker() {
            breakers.failure_shared(&provider).await;
        }
        Some((Err(item), None))
    });
    Box::pin(stream::once(async move { Ok(first) }).chain(tail))
}

/// Jittered exponential backoff (50–100 % of base·2ⁿ, capped), at least `Retry-After`.
/// `None` when the provider asks for a longer wait than we are willing to make.
fn backoff(cfg: &RetryConfig, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
    let exp = cfg
        .base_delay
        .saturating_mul(1u32 << attempt.min(16))
        .min(cfg.max_delay);
    let jittered = exp.mul_f64(rand::rng().random_range(0.5..=1.0));
    match retry_after {
        Some(wait) if wait > cfg.max_delay => None,
        Some(wait) => Some(wait.max(jittered)),
        None => Some(jittered),
    }
}

fn record(
    target: &Target,
    attempt: u32,
    started: Instant,
    err: Option<&ProviderError>,
    state: BreakerState,
) -> AttemptRecord {
    let http_status = match err {
        Some(ProviderError::Upstream { status, .. }) => Some(*status),
        Some(ProviderError::RateLimited { .. }) => Some(429),
        _ => None,
    };
    let outcome = match err {
        None => InferenceOutcome::Ok,
        Some(ProviderError::CircuitOpen { .. }) => InferenceOutcome::CircuitOpen,
        Some(_) => InferenceOutcome::Error,
    };
    crate::observability::inference_attempt(&target.provider, outcome);
    let elapsed = started.elapsed();
    let started_at = chrono::Utc::now() - chrono::Duration::from_std(elapsed).unwrap_or_default();
    AttemptRecord {
        provider: target.provider.clone(),
        model: target.model.clone(),
        attempt,
        outcome: if err.is_some() {
            AttemptOutcome::Error
        } else {
            AttemptOutcome::Ok
        },
        http_status,
        latency_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        started_at,
        error: err.map(ToString::to_string),
        breaker_state: state.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_exponential_capped_and_honours_retry_after() {
        let cfg = RetryConfig {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d = backoff(&cfg, 2, None).unwrap_or_default();
            assert!(
                d >= Duration::from_millis(200) && d <= Duration::from_millis(400),
                "{d:?}"
            );
            let capped = backoff(&cfg, 10, None).unwrap_or_default();
            assert!(capped <= cfg.max_delay);
        }
        let wait = Some(Duration::from_millis(900));
        assert_eq!(backoff(&cfg, 0, wait), wait);
        assert_eq!(backoff(&cfg, 0, Some(Duration::from_secs(5))), None);
    }
}
