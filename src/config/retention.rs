//! Keep periods of the tables that grow with every request (`ASTRA_RETENTION_*`); the
//! `retention` task (which re-exports them) prunes by them.

use std::time::Duration;

use anyhow::Context;

use super::parse_duration;

/// Shortest keep period accepted: shorter ones would cut into the login lock window (15 min)
/// and the idempotency replay window (5 min).
const MIN_PERIOD: Duration = Duration::from_secs(3600);

/// Keep periods (`None` keeps rows forever) and the schedule of the retention task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Time between passes (`ASTRA_RETENTION_INTERVAL`, `1h`).
    pub interval: Duration,
    /// Rows deleted per statement (`ASTRA_RETENTION_BATCH_SIZE`, 1000).
    pub batch_size: u32,
    /// `ASTRA_RETENTION_IDEMPOTENCY` (`24h`), from creation.
    pub idempotency_keys: Option<Duration>,
    /// `ASTRA_RETENTION_REFRESH_TOKENS` (`30d`), counted from the token's expiry.
    pub refresh_tokens: Option<Duration>,
    /// `ASTRA_RETENTION_HEARTBEAT_RUNS` (`30d`), from the run.
    pub heartbeat_runs: Option<Duration>,
    /// `ASTRA_RETENTION_WEBHOOK_DELIVERIES` (`30d`), from creation; delivered and failed only.
    /// Also the keep period of `webhookUrl` reply deliveries.
    pub webhook_deliveries: Option<Duration>,
    /// `ASTRA_RETENTION_LOGIN_FAILURES` (`1d`), from the failure.
    pub login_failures: Option<Duration>,
    /// `ASTRA_RETENTION_AUDIT` (`365d`), from the entry.
    pub audit_log: Option<Duration>,
}

const DAY: u64 = 86_400;

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            batch_size: 1000,
            idempotency_keys: Some(Duration::from_secs(DAY)),
            refresh_tokens: Some(Duration::from_secs(30 * DAY)),
            heartbeat_runs: Some(Duration::from_secs(30 * DAY)),
            webhook_deliveries: Some(Duration::from_secs(30 * DAY)),
            login_failures: Some(Duration::from_secs(DAY)),
            audit_log: Some(Duration::from_secs(365 * DAY)),
        }
    }
}

impl RetentionConfig {
    /// Reads the settings from an environment lookup. Periods take `24h`, `30d`, … or `off`
    /// (keep forever) and must be at least an hour.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let period = |key: &str, slot: &mut Option<Duration>| -> anyhow::Result<()> {
            let Some(raw) = env(key) else {
                return Ok(());
            };
            if raw.trim().eq_ignore_ascii_case("off") {
                *slot = None;
                return Ok(());
            }
            let d = parse_duration(&raw)
                .filter(|d| *d >= MIN_PERIOD)
                .with_context(|| {
                    format!("{key}: expected a period of at least 1h (e.g. 30d) or off")
                })?;
            *slot = Some(d);
            Ok(())
        };
        period("ASTRA_RETENTION_IDEMPOTENCY", &mut cfg.idempotency_keys)?;
        period("ASTRA_RETENTION_REFRESH_TOKENS", &mut cfg.refresh_tokens)?;
        period("ASTRA_RETENTION_HEARTBEAT_RUNS", &mut cfg.heartbeat_runs)?;
        period(
            "ASTRA_RETENTION_WEBHOOK_DELIVERIES",
            &mut cfg.webhook_deliveries,
        )?;
        period("ASTRA_RETENTION_LOGIN_FAILURES", &mut cfg.login_failures)?;
        period("ASTRA_RETENTION_AUDIT", &mut cfg.audit_log)?;
        if let Some(v) = env("ASTRA_RETENTION_INTERVAL") {
            cfg.interval = parse_duration(&v)
                .filter(|d| !d.is_zero())
                .context("ASTRA_RETENTION_INTERVAL: expected e.g. 1h")?;
        }
        if let Some(v) = env("ASTRA_RETENTION_BATCH_SIZE") {
            cfg.batch_size = v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .context("ASTRA_RETENTION_BATCH_SIZE: expected a positive integer")?;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_come_from_the_environment() {
        let env = |k: &str| match k {
            "ASTRA_RETENTION_AUDIT" => Some("off".to_string()),
            "ASTRA_RETENTION_HEARTBEAT_RUNS" => Some("7d".to_string()),
            _ => None,
        };
        let cfg = RetentionConfig::from_env(&env).unwrap();
        assert_eq!(cfg.audit_log, None);
        assert_eq!(cfg.heartbeat_runs, Some(Duration::from_secs(7 * DAY)));
        assert_eq!(cfg.login_failures, Some(Duration::from_secs(DAY)));
        let short = |k: &str| (k == "ASTRA_RETENTION_LOGIN_FAILURES").then(|| "5m".to_string());
        assert!(RetentionConfig::from_env(&short).is_err());
    }
}
