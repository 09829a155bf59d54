//! Cluster settings: the shared Redis (`ASTRA_REDIS_URL` or `settings.redisUrl`), what to do
//! when it is unreachable, and this replica's name (`ASTRA_REPLICA_ID`).

use std::time::Duration;

use anyhow::Context;

use super::{FileConfig, Secret};

/// How replicas share fast state; all off by default (one process needs nothing).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://[user:pass@]host:port[/db]` (`ASTRA_REDIS_URL`, else `settings.redisUrl`);
    /// may hold a password, so it is a [`Secret`]. `None` = per-process state, as always.
    pub redis_url: Option<Secret>,
    /// Refuse rate-limited requests (503) while Redis is unreachable instead of falling back
    /// to per-replica limits (`ASTRA_REDIS_FAIL_CLOSED` or `settings.redisFailClosed`; false).
    pub fail_closed: bool,
    /// Time limit of one Redis command and of connecting (`ASTRA_REDIS_TIMEOUT_MS`, 250).
    pub timeout: Duration,
    /// Prefix of every Redis key (`ASTRA_REDIS_PREFIX`, `astra:`), so several gateways (or
    /// tests) can share one Redis.
    pub prefix: String,
    /// This replica's name in logs, traces and `/admin/health` (`ASTRA_REPLICA_ID`; default
    /// the host name and a random suffix).
    pub replica_id: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            redis_url: None,
            fail_closed: false,
            timeout: Duration::from_millis(250),
            prefix: "astra:".into(),
            replica_id: generated_replica_id(),
        }
    }
}

impl ClusterConfig {
    /// Reads `settings:` of `astra.yml`, then the environment overrides.
    pub fn from_sources(
        file: &FileConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let url = env("ASTRA_REDIS_URL").or_else(|| file.setting("redisUrl").map(str::to_string));
        if let Some(url) = url.filter(|u| !u.trim().is_empty()) {
            anyhow::ensure!(
                url.starts_with("redis://") || url.starts_with("rediss://"),
                "ASTRA_REDIS_URL: expected redis://host:port"
            );
            cfg.redis_url = Some(Secret::new(url.trim()));
        }
        let fail_closed = env("ASTRA_REDIS_FAIL_CLOSED").or_else(|| {
            file.settings
                .get("redisFailClosed")
                .map(|v| v.to_string().trim_matches('"').to_string())
        });
        if let Some(v) = fail_closed {
            cfg.fail_closed =
                super::parse_bool(&v).context("ASTRA_REDIS_FAIL_CLOSED: expected true or false")?;
        }
        if let Some(ms) = super::positive_env(env, "ASTRA_REDIS_TIMEOUT_MS")? {
            cfg.timeout = Duration::from_millis(ms);
        }
        if let Some(p) = env("ASTRA_REDIS_PREFIX") {
            cfg.prefix = p;
        }
        if let Some(id) = env("ASTRA_REPLICA_ID").filter(|v| !v.trim().is_empty()) {
            anyhow::ensure!(
                id.len() <= 64
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "ASTRA_REPLICA_ID: expected at most 64 letters, digits, '-', '_' or '.'"
            );
            cfg.replica_id = id;
        }
        Ok(cfg)
    }
}

/// `<host name>-<6 hex digits>`: unique per process, recognisable in logs.
fn generated_replica_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "astra".into());
    let host: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    format!("{host}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_settings_from_env_and_file() {
        let file = FileConfig::parse(
            "settings:\n  redisUrl: redis://cache:6379\n  redisFailClosed: true\n",
            &|_| None,
        )
        .unwrap();
        let cfg = ClusterConfig::from_sources(&file, &|_| None).unwrap();
        assert_eq!(
            cfg.redis_url.as_ref().map(Secret::expose),
            Some("redis://cache:6379")
        );
        assert!(cfg.fail_closed);
        let env = |k: &str| match k {
            "ASTRA_REDIS_URL" => Some("redis://127.0.0.1:6379".to_string()),
            "ASTRA_REPLICA_ID" => Some("r-1".to_string()),
            _ => None,
        };
        let cfg = ClusterConfig::from_sources(&FileConfig::default(), &env).unwrap();
        assert_eq!(
            cfg.redis_url.as_ref().map(Secret::expose),
            Some("redis://127.0.0.1:6379")
        );
        assert_eq!(cfg.replica_id, "r-1");
        let bad = |k: &str| (k == "ASTRA_REDIS_URL").then(|| "http://x".to_string());
        assert!(ClusterConfig::from_sources(&FileConfig::default(), &bad).is_err());
        assert!(ClusterConfig::default().redis_url.is_none());
    }
}
