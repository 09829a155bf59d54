//! Shared fast state of a cluster of replicas: one Redis (`ASTRA_REDIS_URL`) holding the rate
//! windows, the breaker counters, the replica heartbeats, each replica's load figures
//! ([`load`]) and the tool result cache, so N replicas behind a load balancer limit, trip,
//! count and cache as one gateway.
//!
//! Without a Redis URL nothing here exists and every feature keeps its per-process state. With
//! one, every command has a time limit ([`crate::config::ClusterConfig::timeout`]); a failed or
//! late command makes the caller fall back to its per-process state (or refuse, when
//! `ASTRA_REDIS_FAIL_CLOSED` is set) and the first failure after a success is logged at
//! `error` level, the recovery at `warn`.

pub mod heartbeat;
pub mod load;
pub mod tool_cache;

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use redis::{FromRedisValue, Script, aio::ConnectionManager};

use crate::config::ClusterConfig;

/// A pooled, reconnecting Redis client with per-command time limits.
///
/// One multiplexed connection (redis' `ConnectionManager`) carries every replica's commands
/// pipelined; it reconnects by itself after an outage.
pub struct Redis {
    conn: ConnectionManager,
    timeout: Duration,
    prefix: String,
    fail_closed: bool,
    replica_id: String,
    /// False after a failed command, until one succeeds again.
    healthy: AtomicBool,
}

/// Redis did not answer in time or answered with an error (already logged).
#[derive(Debug, Clone, Copy)]
pub struct Unavailable;

impl Redis {
    /// The client of `config`, or `None` when no Redis is configured. Connects lazily, so a
    /// replica starts (degraded, per-replica limits) while Redis is down.
    pub fn from_config(config: &ClusterConfig) -> anyhow::Result<Option<Self>> {
        let Some(url) = &config.redis_url else {
            return Ok(None);
        };
        let client = redis::Client::open(url.expose())
            .map_err(|e| anyhow::anyhow!("ASTRA_REDIS_URL: {e}"))?;
        let manager = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client, manager)
            .map_err(|e| anyhow::anyhow!("ASTRA_REDIS_URL: {e}"))?;
        Ok(Some(Self {
            conn,
            timeout: config.timeout,
            prefix: config.prefix.clone(),
            fail_closed: config.fail_closed,
            replica_id: config.replica_id.clone(),
            healthy: AtomicBool::new(true),
        }))
    }

    /// `<prefix><suffix>`: every key this gateway writes.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.prefix)
    }

    /// True when limits must refuse while Redis is unreachable (`ASTRA_REDIS_FAIL_CLOSED`).
    pub fn fail_closed(&self) -> bool {
        self.fail_closed
    }

    /// This replica's id.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// False while the last command failed.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Runs one command within the time limit.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Unavailable> {
        let mut conn = self.conn.clone();
        let result = tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await;
        self.outcome(result)
    }

    /// Runs a Lua script (atomically, by `EVALSHA`, loading it once) within the time limit.
    pub async fn script<T: FromRedisValue, A: redis::ToRedisArgs>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[A],
    ) -> Result<T, Unavailable> {
        let mut conn = self.conn.clone();
        let mut invocation = script.prepare_invoke();
        for k in keys {
            invocation.key(*k);
        }
        for a in args {
            invocation.arg(a);
        }
        let result =
            tokio::time::timeout(self.timeout, invocation.invoke_async::<T>(&mut conn)).await;
        self.outcome(result)
    }

    /// The same client and prefix under another replica id (tests play several replicas).
    #[cfg(test)]
    pub(crate) fn as_replica(&self, replica_id: &str) -> Self {
        Self {
            conn: self.conn.clone(),
            timeout: self.timeout,
            prefix: self.prefix.clone(),
            fail_closed: self.fail_closed,
            replica_id: replica_id.into(),
            healthy: AtomicBool::new(true),
        }
    }

    fn outcome<T>(
        &self,
        result: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, Unavailable> {
        let error = match result {
            Ok(Ok(v)) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        replica = %self.replica_id,
                        "Redis is reachable again: cluster-wide limits and breakers resume"
                    );
                }
                return Ok(v);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", self.timeout.as_millis()),
        };
        crate::observability::redis_error();
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::error!(
                replica = %self.replica_id,
                error = %error,
                fail_closed = self.fail_closed,
                "Redis is UNREACHABLE: rate limits and breakers fall back to per-replica state \
                 (or refuse, with ASTRA_REDIS_FAIL_CLOSED) until it answers again"
            );
        } else {
            tracing::debug!(error = %error, "Redis command failed");
        }
        Err(Unavailable)
    }
}

/// The id of the replica this process runs (the first app built in the process sets it).
static REPLICA_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names this process's replica for logs and exported traces (first call wins).
pub fn set_replica_id(id: &str) {
    let _ = REPLICA_ID.set(id.to_string());
}

/// This process's replica id (`ASTRA_REPLICA_ID` or generated); empty before start-up.
pub fn replica_id() -> &'static str {
    REPLICA_ID.get().map_or("", String::as_str)
}

/// Milliseconds since the Unix epoch (the clock heartbeats are scored with).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A client for tests against the real Redis (`ASTRA_TEST_REDIS_URL`, default
/// `redis://127.0.0.1:6379`) under a key prefix of its own, so parallel tests never share keys;
/// `None` (with a note) when `ASTRA_TEST_REDIS_URL=off`.
#[cfg(test)]
pub(crate) fn test_redis(name: &str, fail_closed: bool) -> Option<std::sync::Arc<Redis>> {
    let url =
        std::env::var("ASTRA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if url == "off" {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("note: ASTRA_TEST_REDIS_URL=off, skipping the Redis test {name}");
        }
        return None;
    }
    let config = ClusterConfig {
        redis_url: Some(crate::config::Secret::new(url)),
        fail_closed,
        timeout: Duration::from_secs(2),
        prefix: format!("astra-test:{name}:{}:", uuid::Uuid::now_v7().simple()),
        replica_id: format!("{name}-replica"),
    };
    Redis::from_config(&config)
        .ok()
        .flatten()
        .map(std::sync::Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn heartbeats_list_the_live_replicas() {
        let Some(a) = test_redis("heartbeats", false) else {
            return;
        };
        assert!(heartbeat::seen(&a).await.unwrap().is_empty());
        heartbeat::beat(&a).await.unwrap();
        // A second replica on the same prefix.
        let b = a.as_replica("other-replica");
        heartbeat::beat(&b).await.unwrap();
        assert_eq!(
            heartbeat::seen(&a).await.unwrap(),
            vec![
                "heartbeats-replica".to_string(),
                "other-replica".to_string()
            ]
        );
        // A replica silent for over a minute is no longer listed.
        let _: i64 = a
            .query(
                redis::cmd("ZADD")
                    .arg(a.key("replicas"))
                    .arg(now_ms() - 61_000)
                    .arg("other-replica"),
            )
            .await
            .unwrap();
        assert_eq!(
            heartbeat::seen(&a).await.unwrap(),
            vec!["heartbeats-replica".to_string()]
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_reported_not_raised() {
        let config = ClusterConfig {
            redis_url: Some(crate::config::Secret::new("redis://127.0.0.1:1")),
            timeout: Duration::from_millis(200),
            ..ClusterConfig::default()
        };
        let redis = Redis::from_config(&config).unwrap().unwrap();
        let got: Result<i64, _> = redis.query(&redis::cmd("PING")).await;
        assert!(got.is_err());
        assert!(!redis.healthy());
    }
}
