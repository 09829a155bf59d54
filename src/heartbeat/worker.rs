//! The heartbeat scheduler: claims due monitors, runs their checks, records each run and
//! emits `heartbeat.failed` (ok → error) and `heartbeat.recovered` (error → ok) — written in
//! the transaction that stores the run (the transactional outbox).

use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use serde_json::json;
use sqlx::types::Json;

use super::{MAX_TIMEOUT_MS, check};
use crate::{
    config::Config,
    net::guarded_client,
    store::{MonitorRow, RunRow, Store, ids::new_id},
    webhooks::outbox,
    workspaces::creator_refusal,
};

/// Monitors claimed per poll.
const BATCH: i64 = 8;

/// Runs due monitors (cheap to clone: the HTTP client and the pool are shared).
#[derive(Clone)]
pub struct Scheduler {
    client: reqwest::Client,
    store: Store,
    /// `ASTRA_ALLOW_PRIVATE_URLS`: whether monitored URLs may be private addresses.
    allow_private_urls: bool,
    /// Time limit of a check whose monitor sets none (`ASTRA_HEARTBEAT_TIMEOUT_MS`).
    default_timeout: Duration,
}

impl Scheduler {
    /// Builds the guarded HTTP client; the settings come from `config`.
    pub fn new(store: &Store, config: &Config) -> anyhow::Result<Self> {
        let client = guarded_client(
            config.allow_private_urls,
            Duration::from_millis(MAX_TIMEOUT_MS),
        )
        .map_err(|e| anyhow::anyhow!("heartbeat client: {e}"))?;
        Ok(Self {
            client,
            store: store.clone(),
            allow_private_urls: config.allow_private_urls,
            default_timeout: config.workers.heartbeat_timeout,
        })
    }

    /// One poll: claims due monitors and runs them side by side; true when the batch was full.
    pub async fn tick(&self) -> anyhow::Result<bool> {
        let now = Utc::now();
        // Longer than any check may take; an expired lease means the runner died.
        let lease = now + chrono::Duration::milliseconds(2 * MAX_TIMEOUT_MS as i64);
        let due = self
            .store
            .heartbeat()
            .claim_monitors(now, lease, BATCH)
            .await?;
        let full = due.len() as i64 == BATCH;
        join_all(due.into_iter().map(|m| self.run_one(m))).await;
        Ok(full)
    }

    async fn run_one(&self, monitor: MonitorRow) {
        if refused_creator(&self.store, &monitor).await {
            return;
        }
        let timeout = monitor.config.0["timeoutMs"]
            .as_u64()
            .map(Duration::from_millis)
            .unwrap_or(self.default_timeout);
        let started_at = Utc::now();
        let result = check::run(&self.client, &monitor, timeout, self.allow_private_urls).await;
        let status = if result.ok { "ok" } else { "error" };
        let run = RunRow {
            id: new_id("hbr"),
            monitor_id: monitor.id.clone(),
            status: status.into(),
            latency_ms: result.latency_ms,
            detail: Json(result.detail.clone()),
            started_at,
        };
        let next = started_at + chrono::Duration::minutes(monitor.interval_minutes);
        // Transitions only: the first run that fails counts as a failure, and a first run
        // that passes is not a recovery.
        let event = match (monitor.last_status.as_deref(), result.ok) {
            (Some("ok") | None, false) => Some("heartbeat.failed"),
            (Some("error"), true) => Some("heartbeat.recovered"),
            _ => None,
        };
        let events = event.map(|event| {
            let data = json!({
                "monitorId": monitor.id, "name": monitor.name, "type": monitor.monitor_type,
                "url": monitor.url, "workspaceId": monitor.workspace_id, "runId": run.id,
                "status": status, "latencyMs": result.latency_ms, "detail": result.detail,
                "startedAt": started_at,
            });
            (event, data)
        });
        let stored = match outbox(
            &self.store,
            &monitor.user_id,
            Some(&monitor.workspace_id),
            events.into_iter().collect(),
        )
        .await
        {
            Ok(rows) => {
                self.store
                    .heartbeat()
                    .record_monitor_run(&run, next, &result.seen, &rows)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            // The lease runs out and a later poll runs the check again.
            tracing::warn!(monitor = %monitor.id, error = %e, "could not record a heartbeat run");
            return;
        }
        tracing::debug!(monitor = %monitor.id, status, latency_ms = result.latency_ms, event, "heartbeat run");
    }
}

/// A monitor runs as its creator (its events go to their webhooks): when they left the
/// workspace (or became a viewer), it is not checked but disabled, with a run recording why —
/// no event is sent to the former member. Re-enabling it meets the same check, so a manager
/// who wants to keep it creates it anew under their own name. True when the monitor was not
/// run.
async fn refused_creator(store: &Store, monitor: &MonitorRow) -> bool {
    let reason = match creator_refusal(store, &monitor.workspace_id, &monitor.user_id).await {
        Ok(None) => return false,
        Ok(Some(reason)) => reason,
        Err(e) => {
            // The lease expires and the next poll tries again.
            tracing::warn!(monitor = %monitor.id, error = %e, "could not check the monitor's creator");
            return true;
        }
    };
    let now = Utc::now();
    let run = RunRow {
        id: new_id("hbr"),
        monitor_id: monitor.id.clone(),
        status: "error".into(),
        latency_ms: 0,
        detail: Json(json!({ "error": format!("monitor disabled: {reason}") })),
        started_at: now,
    };
    tracing::info!(monitor = %monitor.id, reason, "monitor disabled: its creator may no longer run it");
    if let Err(e) = store.heartbeat().record_refused_monitor_run(&run).await {
        tracing::warn!(monitor = %monitor.id, error = %e, "could not disable a monitor");
    }
    true
}
