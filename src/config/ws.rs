//! Bounds of the WebSocket channel `/ws` (environment only): message size, concurrent turns
//! and outbound queue per socket, keep-alive and idle timeout, open sockets.

use std::time::Duration;

/// Limits every `/ws` socket lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// Largest client message (and frame) in bytes (`ASTRA_WS_MAX_MESSAGE_BYTES`, 65 536);
    /// a bigger one closes the socket with 1009.
    pub max_message_bytes: usize,
    /// Turns running at once on one socket (`ASTRA_WS_MAX_TURNS`, 4); a `chat` frame past it
    /// gets an error frame `TOO_MANY_TURNS`.
    pub max_turns: usize,
    /// Server frames queued for one socket (`ASTRA_WS_OUTBOUND_BUFFER`, 256); a reader so
    /// slow that the queue fills is disconnected.
    pub outbound_buffer: usize,
    /// How often the server pings (`ASTRA_WS_PING_INTERVAL_MS`, 30 000).
    pub ping_interval: Duration,
    /// Pings in a row the client may leave unanswered before it is disconnected
    /// (`ASTRA_WS_MAX_MISSED_PONGS`, 2).
    pub max_missed_pongs: u32,
    /// A socket with no client frame and no running turn for this long is closed with 1000
    /// (`ASTRA_WS_IDLE_TIMEOUT_MS`, 600 000).
    pub idle_timeout: Duration,
    /// Sockets open at once in this process (`ASTRA_WS_MAX_CONNECTIONS`, 10 000); past it
    /// an upgrade is answered 503.
    pub max_connections: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            max_turns: 4,
            outbound_buffer: 256,
            ping_interval: Duration::from_secs(30),
            max_missed_pongs: 2,
            idle_timeout: Duration::from_secs(600),
            max_connections: 10_000,
        }
    }
}

impl WsConfig {
    /// Reads the settings from an environment lookup; every value must be positive.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let positive = |key: &str| super::positive_env(env, key);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(n) = positive("ASTRA_WS_MAX_MESSAGE_BYTES")? {
            cfg.max_message_bytes = size(n);
        }
        if let Some(n) = positive("ASTRA_WS_MAX_TURNS")? {
            cfg.max_turns = size(n);
        }
        if let Some(n) = positive("ASTRA_WS_OUTBOUND_BUFFER")? {
            cfg.outbound_buffer = size(n);
        }
        if let Some(ms) = positive("ASTRA_WS_PING_INTERVAL_MS")? {
            cfg.ping_interval = Duration::from_millis(ms);
        }
        if let Some(n) = positive("ASTRA_WS_MAX_MISSED_PONGS")? {
            cfg.max_missed_pongs = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(ms) = positive("ASTRA_WS_IDLE_TIMEOUT_MS")? {
            cfg.idle_timeout = Duration::from_millis(ms);
        }
        if let Some(n) = positive("ASTRA_WS_MAX_CONNECTIONS")? {
            cfg.max_connections = size(n);
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_validates_the_environment() {
        let env = |k: &str| match k {
            "ASTRA_WS_PING_INTERVAL_MS" => Some("250".to_string()),
            "ASTRA_WS_MAX_TURNS" => Some("2".to_string()),
            _ => None,
        };
        let cfg = WsConfig::from_env(&env).unwrap();
        assert_eq!(cfg.ping_interval, Duration::from_millis(250));
        assert_eq!(cfg.max_turns, 2);
        assert_eq!(cfg.outbound_buffer, 256);
        let bad = |k: &str| (k == "ASTRA_WS_OUTBOUND_BUFFER").then(|| "0".to_string());
        assert!(WsConfig::from_env(&bad).is_err());
        let junk = |k: &str| (k == "ASTRA_WS_MAX_MESSAGE_BYTES").then(|| "big".to_string());
        assert!(WsConfig::from_env(&junk).is_err());
    }
}
