//! Heartbeat monitors: scheduled checks of HTTP endpoints and RSS/Atom feeds. Validation of
//! new monitors lives here; the operations of the `/heartbeat` routes in [`monitors`]; the
//! checks in [`check`]; the scheduler in [`worker`].

pub mod check;
pub mod monitors;
pub mod worker;

use chrono::Utc;
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::{
    error::ApiResult,
    net::{check_url, parse_outbound_url},
    store::{MonitorRow, ids::new_id},
    validate::{Problems, length_between},
};

/// Shortest interval between runs: five minutes.
pub const MIN_INTERVAL_MINUTES: i64 = 5;
/// Longest interval between runs: one week.
pub const MAX_INTERVAL_MINUTES: i64 = 10_080;
/// Largest `config.timeoutMs`.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// A monitor to create, as the HTTP layer received it.
#[derive(Debug, Clone)]
pub struct NewMonitor {
    /// 1–100 characters.
    pub name: String,
    /// `rss|http`.
    pub monitor_type: String,
    /// What to check.
    pub url: String,
    /// 5–10080.
    pub interval_minutes: i64,
    /// Default true.
    pub enabled: Option<bool>,
    /// Options: `timeoutMs` (1–60000).
    pub config: Option<Map<String, Value>>,
}

impl NewMonitor {
    /// Validates and builds the row; a new monitor is due at once, so its first run comes
    /// with the next poll.
    pub fn validate(
        self,
        workspace_id: &str,
        user_id: &str,
        allow_private: bool,
    ) -> ApiResult<MonitorRow> {
        let mut problems = Problems::new();
        problems.check(
            !length_between(self.name.trim(), 1, 100),
            "name",
            "must be 1-100 characters",
        );
        problems.check(
            self.monitor_type != "rss" && self.monitor_type != "http",
            "type",
            "must be rss or http",
        );
        problems.check(
            !(MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&self.interval_minutes),
            "intervalMinutes",
            "must be 5-10080 (5 minutes to 1 week)",
        );
        if let Err(e) = parse_outbound_url(&self.url).and_then(|u| check_url(&u, allow_private)) {
            problems.add("url", e.to_string());
        }
        let config = self.config.unwrap_or_default();
        if let Some(t) = config.get("timeoutMs") {
            problems.check(
                !t.as_u64()
                    .is_some_and(|t| (1..=MAX_TIMEOUT_MS).contains(&t)),
                "config.timeoutMs",
                "must be 1-60000",
            );
        }
        problems.finish()?;
        let now = Utc::now();
        Ok(MonitorRow {
            id: new_id("hb"),
            user_id: user_id.to_string(),
            workspace_id: workspace_id.to_string(),
            name: self.name.trim().to_string(),
            monitor_type: self.monitor_type,
            url: self.url.trim().to_string(),
            interval_minutes: self.interval_minutes,
            enabled: self.enabled.unwrap_or(true),
            config: Json(Value::Object(config)),
            next_run_at: now,
            last_status: None,
            last_run_at: None,
            seen: Json(Vec::new()),
            created_at: now,
            updated_at: now,
        })
    }
}
