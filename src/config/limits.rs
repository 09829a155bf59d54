//! Settings of the chat limits (`astra.yml limits:` overridden by `ASTRA_LIMITS_*`) and the
//! per-agent quotas (`astra.yml quotas:`); enforced by `chat` (which re-exports them).

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// The configured limits (`astra.yml limits:` overridden by `ASTRA_LIMITS_*`).
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Chat requests per client IP per minute (0 = off).
    pub ip_per_minute: u32,
    /// Chat requests per user per minute (0 = off).
    pub user_per_minute: u32,
    /// Tokens per user per calendar month (0 = off).
    pub user_tokens_per_month: u64,
    /// Whole-turn time limit.
    pub request_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            ip_per_minute: 30,
            user_per_minute: 60,
            user_tokens_per_month: 2_000_000,
            request_timeout: Duration::from_millis(120_000),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLimits {
    ip_per_minute: Option<u32>,
    user_per_minute: Option<u32>,
    user_tokens_per_month: Option<u64>,
    request_timeout_ms: Option<u64>,
}

impl LimitsConfig {
    /// Reads the `limits:` section, then the environment overrides.
    pub fn from_sources(
        section: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let raw: RawLimits = if section.is_null() {
            RawLimits::default()
        } else {
            serde_json::from_value(section.clone())
                .map_err(|e| anyhow::anyhow!("astra.yml limits: {e}"))?
        };
        let mut cfg = Self::default();
        let num = |key: &str| -> anyhow::Result<Option<u64>> {
            env(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| anyhow::anyhow!("{key}: expected a non-negative integer"))
                })
                .transpose()
        };
        let as_u32 =
            |key: &str, v: u64| u32::try_from(v).map_err(|_| anyhow::anyhow!("{key}: too large"));
        if let Some(v) = num("ASTRA_LIMITS_IP_PER_MINUTE")?.or(raw.ip_per_minute.map(u64::from)) {
            cfg.ip_per_minute = as_u32("ASTRA_LIMITS_IP_PER_MINUTE", v)?;
        }
        if let Some(v) = num("ASTRA_LIMITS_USER_PER_MINUTE")?.or(raw.user_per_minute.map(u64::from))
        {
            cfg.user_per_minute = as_u32("ASTRA_LIMITS_USER_PER_MINUTE", v)?;
        }
        if let Some(v) = num("ASTRA_LIMITS_USER_TOKENS_PER_MONTH")?.or(raw.user_tokens_per_month) {
            cfg.user_tokens_per_month = v;
        }
        if let Some(v) = num("ASTRA_LIMITS_REQUEST_TIMEOUT_MS")?.or(raw.request_timeout_ms) {
            if v == 0 {
                anyhow::bail!("ASTRA_LIMITS_REQUEST_TIMEOUT_MS: must be positive");
            }
            cfg.request_timeout = Duration::from_millis(v);
        }
        Ok(cfg)
    }
}

/// A quota rule from `astra.yml quotas:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaRule {
    /// Agent the rule applies to (absent or `*` = every agent).
    pub agent_id: Option<String>,
    /// Workspace the rule applies to (absent = every workspace).
    pub workspace_id: Option<String>,
    /// Tokens per rolling hour, per agent per workspace.
    pub tokens_per_hour: Option<u64>,
    /// Tokens per rolling day.
    pub tokens_per_day: Option<u64>,
    /// USD per rolling day.
    pub cost_per_day_usd: Option<f64>,
}

impl QuotaRule {
    /// Parses the `quotas:` section (a list, or `null`).
    pub fn parse_all(section: &Value) -> anyhow::Result<Vec<QuotaRule>> {
        if section.is_null() {
            return Ok(Vec::new());
        }
        serde_json::from_value(section.clone())
            .map_err(|e| anyhow::anyhow!("astra.yml quotas: {e}"))
    }

    /// True when the rule covers this agent in this workspace.
    pub fn applies(&self, workspace_id: &str, agent_id: &str) -> bool {
        let agent_ok = self
            .agent_id
            .as_deref()
            .is_none_or(|a| a == "*" || a == agent_id);
        let ws_ok = self
            .workspace_id
            .as_deref()
            .is_none_or(|w| w == workspace_id);
        agent_ok && ws_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file() {
        let file = serde_json::json!({"ipPerMinute": 5, "requestTimeoutMs": 1000});
        let cfg = LimitsConfig::from_sources(&file, &|k| {
            (k == "ASTRA_LIMITS_IP_PER_MINUTE").then(|| "7".to_string())
        })
        .expect("limits");
        assert_eq!(cfg.ip_per_minute, 7);
        assert_eq!(cfg.request_timeout, Duration::from_secs(1));
        assert_eq!(cfg.user_per_minute, 60);
    }
}
