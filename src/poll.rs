//! The pieces every background worker shares: worker settings, the poll loop and the retry
//! backoff. Kept below the feature modules (it imports nothing from the crate) so jobs and
//! webhooks use it without depending on the `workers` module, which starts them.

use std::{future::Future, time::Duration};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

/// Worker settings (environment only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkersConfig {
    /// Pause between polls when there was nothing to do (`ASTRA_WORKER_POLL_MS`, 1000).
    pub poll: Duration,
    /// First retry delay of a failed job; doubled per attempt (`ASTRA_JOB_RETRY_BASE_MS`, 1000).
    pub job_retry_base: Duration,
    /// Jobs run at once per replica (`ASTRA_JOB_CONCURRENCY`, 4).
    pub job_concurrency: usize,
    /// Default time limit of a heartbeat check (`ASTRA_HEARTBEAT_TIMEOUT_MS`, 10 000).
    pub heartbeat_timeout: Duration,
}

impl Default for WorkersConfig {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(1),
            job_retry_base: Duration::from_secs(1),
            job_concurrency: 4,
            heartbeat_timeout: Duration::from_secs(10),
        }
    }
}

impl WorkersConfig {
    /// Reads the settings from an environment lookup.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let positive = |key: &str| -> anyhow::Result<Option<u64>> {
            env(key)
                .map(|v| {
                    v.parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .with_context(|| format!("{key}: expected a positive integer"))
                })
                .transpose()
        };
        if let Some(ms) = positive("ASTRA_WORKER_POLL_MS")? {
            cfg.poll = Duration::from_millis(ms);
        }
        if let Some(ms) = positive("ASTRA_JOB_RETRY_BASE_MS")? {
            cfg.job_retry_base = Duration::from_millis(ms);
        }
        if let Some(n) = positive("ASTRA_JOB_CONCURRENCY")? {
            cfg.job_concurrency = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(ms) = positive("ASTRA_HEARTBEAT_TIMEOUT_MS")? {
            cfg.heartbeat_timeout = Duration::from_millis(ms);
        }
        Ok(cfg)
    }
}

/// Calls `tick` until shutdown; `tick` answers whether there may be more work right away
/// (a full batch), else the loop sleeps for the poll interval. Errors are logged and retried
/// after the interval, so a database hiccup never stops a worker. Stops when `shutdown` is
/// cancelled.
pub async fn poll_loop<F, Fut>(
    shutdown: CancellationToken,
    poll: Duration,
    name: &'static str,
    mut tick: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    tracing::debug!(worker = name, ?poll, "worker started");
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let more = tokio::select! {
            r = tick() => r.unwrap_or_else(|e| {
                tracing::warn!(worker = name, error = ?e, "worker poll failed");
                false
            }),
            () = shutdown.cancelled() => break,
        };
        if more {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {},
            () = shutdown.cancelled() => break,
        }
    }
    tracing::debug!(worker = name, "worker stopped");
}

/// `base · 2^(attempt-1)`, capped at one hour: the delay before retry number `attempt`.
pub fn backoff(base: Duration, attempt: i64) -> chrono::Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let delay = base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(Duration::from_secs(3600));
    chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1).num_milliseconds(), 100);
        assert_eq!(backoff(base, 3).num_milliseconds(), 400);
        assert_eq!(backoff(base, 60).num_seconds(), 3600);
    }

    #[test]
    fn settings_come_from_the_environment() {
        let env = |k: &str| (k == "ASTRA_WORKER_POLL_MS").then(|| "50".to_string());
        assert_eq!(
            WorkersConfig::from_env(&env).unwrap().poll,
            Duration::from_millis(50)
        );
        let bad = |k: &str| (k == "ASTRA_JOB_CONCURRENCY").then(|| "0".to_string());
        assert!(WorkersConfig::from_env(&bad).is_err());
    }
}
