//! Retention: tables that grow with every request are pruned on a schedule.
//!
//! Idempotency keys, refresh tokens, heartbeat runs, finished webhook deliveries, failed
//! logins and audit entries each have a keep period ([`RetentionConfig`], `ASTRA_RETENTION_*`);
//! a background task on the app's task tracker deletes older rows in bounded batches every
//! [`RetentionConfig::interval`]. Audit entries are kept longest (a year by default).

use std::time::Duration;

use chrono::{DateTime, Utc};

use tokio_util::sync::CancellationToken;

use crate::store::{RetainedTable, Store};

pub use crate::config::retention::RetentionConfig;

/// Batches per table per pass; the rest waits for the next pass, so one pass stays short.
const MAX_BATCHES_PER_PASS: u32 = 100;
/// Pause between batches, so other writers get the database in between.
const BATCH_PAUSE: Duration = Duration::from_millis(20);

/// The keep period of `table`.
fn period(config: &RetentionConfig, table: RetainedTable) -> Option<Duration> {
    match table {
        RetainedTable::IdempotencyKeys => config.idempotency_keys,
        RetainedTable::RefreshTokens => config.refresh_tokens,
        RetainedTable::HeartbeatRuns => config.heartbeat_runs,
        RetainedTable::WebhookDeliveries | RetainedTable::ReplyDeliveries => {
            config.webhook_deliveries
        }
        RetainedTable::LoginFailures => config.login_failures,
        RetainedTable::AuditLog => config.audit_log,
    }
}

/// Rows deleted by one pass, per table, in [`RetainedTable::ALL`] order.
pub type PassReport = Vec<(RetainedTable, u64)>;

/// One pass over every table as of `now`: deletes rows older than their period, at most
/// [`MAX_BATCHES_PER_PASS`] batches per table.
pub async fn run_once(
    store: &Store,
    config: &RetentionConfig,
    now: DateTime<Utc>,
) -> Result<PassReport, sqlx::Error> {
    let mut report = Vec::with_capacity(RetainedTable::ALL.len());
    for table in RetainedTable::ALL {
        let Some(period) = period(config, table) else {
            continue;
        };
        let Ok(period) = chrono::Duration::from_std(period) else {
            continue;
        };
        let cutoff = now - period;
        let limit = i64::from(config.batch_size);
        let mut deleted = 0;
        for batch in 0..MAX_BATCHES_PER_PASS {
            if batch > 0 {
                tokio::time::sleep(BATCH_PAUSE).await;
            }
            let n = store
                .retention()
                .delete_expired_batch(table, cutoff, limit)
                .await?;
            deleted += n;
            if n < u64::from(config.batch_size) {
                break;
            }
        }
        report.push((table, deleted));
    }
    Ok(report)
}

/// One pass unless another replica is running one (then an empty report).
async fn exclusive_pass(
    store: &Store,
    config: &RetentionConfig,
) -> Result<PassReport, sqlx::Error> {
    let Some(lock) = store.try_exclusive("retention").await? else {
        tracing::debug!("retention: another replica is running a pass");
        return Ok(Vec::new());
    };
    let report = run_once(store, config, Utc::now()).await;
    lock.release().await;
    report
}

/// The retention task: a pass at start-up, then one every interval, until `shutdown`. Replicas
/// sharing a PostgreSQL database take turns: a pass runs under an advisory lock, and a replica
/// that finds it held skips its pass (the holder is doing the work).
pub async fn run_loop(store: Store, config: RetentionConfig, shutdown: CancellationToken) {
    loop {
        let pass = tokio::select! {
            r = exclusive_pass(&store, &config) => r,
            () = shutdown.cancelled() => break,
        };
        match pass {
            Ok(report) => {
                for (table, rows) in report.into_iter().filter(|(_, n)| *n > 0) {
                    tracing::info!(table = table.name(), rows, "retention: deleted old rows");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention pass failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {},
            () = shutdown.cancelled() => break,
        }
    }
}
