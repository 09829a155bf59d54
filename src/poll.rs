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

/// Longest pause between ticks of a worker whose ticks keep failing (a database outage).
pub const FAILURE_BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Calls `tick` until shutdown; `tick` answers whether there may be more work right away
/// (a full batch), else the loop sleeps for the poll interval. A failing tick (the database
/// is down) is retried after a pause that doubles from the poll interval up to
/// [`FAILURE_BACKOFF_CAP`], so an outage is neither hammered nor fatal: the first failure is
/// logged as a warning, repeats only at debug level, and the first success after failures
/// logs the recovery and restores the normal interval. Stops when `shutdown` is cancelled:
/// at once during a pause; a tick in progress is finished first (it may have claimed work —
/// dropping it half-way would leave that work leased to nobody or cut a send in flight), and
/// no tick starts after it.
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
    let mut failures: u32 = 0;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let result = tick().await;
        let pause = match result {
            Ok(more) => {
                if failures > 0 {
                    tracing::info!(worker = name, failures, "worker recovered");
                    failures = 0;
                }
                if more {
                    continue;
                }
                poll
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                if failures == 1 {
                    tracing::warn!(worker = name, error = ?e, "worker poll failed; backing off");
                } else {
                    tracing::debug!(worker = name, failures, error = %e, "worker poll failed again");
                }
                failure_pause(poll, failures)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {},
            () = shutdown.cancelled() => break,
        }
    }
    tracing::debug!(worker = name, "worker stopped");
}

/// The pause after the `failures`-th failed tick in a row: `poll · 2^(failures-1)`, capped.
pub fn failure_pause(poll: Duration, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    poll.saturating_mul(2u32.saturating_pow(exp))
        .min(FAILURE_BACKOFF_CAP.max(poll))
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
    fn failure_pauses_double_from_the_poll_interval_to_the_cap() {
        let poll = Duration::from_millis(500);
        assert_eq!(failure_pause(poll, 1), poll);
        assert_eq!(failure_pause(poll, 3), Duration::from_secs(2));
        assert_eq!(failure_pause(poll, 40), FAILURE_BACKOFF_CAP);
    }

    #[tokio::test]
    async fn a_failing_worker_backs_off_and_resumes() {
        use std::sync::{Arc, Mutex};
        let calls = Arc::new(Mutex::new(Vec::new()));
        let shutdown = CancellationToken::new();
        let (c, s) = (calls.clone(), shutdown.clone());
        let start = std::time::Instant::now();
        let poll = Duration::from_millis(20);
        let worker = poll_loop(shutdown.clone(), poll, "test", move || {
            let (c, s) = (c.clone(), s.clone());
            async move {
                let mut calls = c.lock().unwrap();
                calls.push(start.elapsed());
                match calls.len() {
                    1..=4 => anyhow::bail!("database down"),
                    5 => Ok(false),
                    _ => {
                        s.cancel();
                        Ok(false)
                    }
                }
            }
        });
        worker.await;
        let calls = calls.lock().unwrap();
        let gaps: Vec<Duration> = calls.windows(2).map(|w| w[1] - w[0]).collect();
        // Pauses after the 4 failures double: 20, 40, 80, 160 ms (at least; timers only wait
        // longer under load); after the success the loop is back to the poll interval.
        for (gap, ms) in gaps.iter().zip([20, 40, 80, 160]) {
            assert!(*gap >= Duration::from_millis(ms), "{gaps:?}");
        }
        assert!(gaps[4] >= poll && gaps[4] < gaps[3], "{gaps:?}");
    }

    #[tokio::test]
    async fn a_tick_in_progress_finishes_and_none_starts_after_shutdown() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let (started, finished) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let shutdown = CancellationToken::new();
        let (st, fi, s) = (started.clone(), finished.clone(), shutdown.clone());
        poll_loop(shutdown, Duration::from_millis(5), "test", move || {
            let (st, fi, s) = (st.clone(), fi.clone(), s.clone());
            async move {
                st.fetch_add(1, Ordering::SeqCst);
                s.cancel();
                tokio::time::sleep(Duration::from_millis(30)).await;
                fi.fetch_add(1, Ordering::SeqCst);
                Ok(true)
            }
        })
        .await;
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert_eq!(finished.load(Ordering::SeqCst), 1);
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
