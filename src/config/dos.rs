//! Denial-of-service bounds of the server: slow clients, concurrency, in-memory caches and
//! the `/metrics` counters (environment only).

use std::time::Duration;

/// Bounds that keep one client (or many) from holding the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosConfig {
    /// A connection must send a request's complete headers within this
    /// (`ASTRA_HEADER_READ_TIMEOUT_MS`, 10 000); slower clients are disconnected.
    pub header_read_timeout: Duration,
    /// Open connections at once (`ASTRA_MAX_CONNECTIONS`, 10 000); past it new connections
    /// wait in the listen backlog.
    pub max_connections: usize,
    /// Requests handled at once (`ASTRA_MAX_CONCURRENT_REQUESTS`, 1024); past it a request is
    /// answered 503 `OVERLOADED` at once rather than queued.
    pub max_concurrent_requests: usize,
    /// Byte budget of the tool result cache (`ASTRA_TOOL_CACHE_MAX_BYTES`, 64 MiB).
    pub tool_cache_max_bytes: usize,
    /// How long `/metrics` reuses its database counters (`ASTRA_METRICS_REFRESH_SECS`, 30).
    pub metrics_refresh: Duration,
}

impl Default for DosConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_concurrent_requests: 1024,
            tool_cache_max_bytes: 64 * 1024 * 1024,
            metrics_refresh: Duration::from_secs(30),
        }
    }
}

impl DosConfig {
    /// Reads the settings from an environment lookup; every value must be positive.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let positive = |key: &str| super::positive_env(env, key);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(ms) = positive("ASTRA_HEADER_READ_TIMEOUT_MS")? {
            cfg.header_read_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = positive("ASTRA_MAX_CONNECTIONS")? {
            cfg.max_connections = size(n);
        }
        if let Some(n) = positive("ASTRA_MAX_CONCURRENT_REQUESTS")? {
            cfg.max_concurrent_requests = size(n);
        }
        if let Some(n) = positive("ASTRA_TOOL_CACHE_MAX_BYTES")? {
            cfg.tool_cache_max_bytes = size(n);
        }
        if let Some(s) = positive("ASTRA_METRICS_REFRESH_SECS")? {
            cfg.metrics_refresh = Duration::from_secs(s);
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates_the_environment() {
        let env = |k: &str| (k == "ASTRA_HEADER_READ_TIMEOUT_MS").then(|| "250".to_string());
        let cfg = DosConfig::from_env(&env).unwrap();
        assert_eq!(cfg.header_read_timeout, Duration::from_millis(250));
        assert_eq!(cfg.max_concurrent_requests, 1024);
        let bad = |k: &str| (k == "ASTRA_MAX_CONNECTIONS").then(|| "0".to_string());
        assert!(DosConfig::from_env(&bad).is_err());
    }
}
