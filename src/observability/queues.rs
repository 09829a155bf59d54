//! Queue depths for the gauges, read from the database at most once per
//! `ASTRA_METRICS_REFRESH_SECS` (one refresh at a time, others reuse the last figures), the
//! same approach as the counters of the JSON `/metrics`: scrapes never turn into a flood of
//! `COUNT(*)` scans.

use std::time::{Duration, Instant};

use chrono::Utc;

use crate::{store::Store, with_pool};

/// Work waiting in the background queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Jobs `pending`.
    pub jobs_queued: i64,
    /// Webhook deliveries `pending` or `sending`.
    pub deliveries_pending: i64,
    /// Enabled heartbeat monitors whose next run is due.
    pub monitors_due: i64,
    /// Memory chunks waiting to be embedded.
    pub memory_embed_backlog: i64,
    /// Seconds since the oldest of them was queued.
    pub memory_embed_lag_seconds: i64,
}

/// The last depths and when they were read.
#[derive(Default)]
pub struct QueueCache {
    /// An async lock, so concurrent scrapes wait for one refresh instead of each scanning.
    last: tokio::sync::Mutex<Option<(Instant, QueueDepths)>>,
}

impl QueueCache {
    /// The depths, read again when older than `max_age`.
    pub async fn get(&self, store: &Store, max_age: Duration) -> Result<QueueDepths, sqlx::Error> {
        let mut last = self.last.lock().await;
        if let Some((at, depths)) = last.as_ref()
            && at.elapsed() < max_age
        {
            return Ok(*depths);
        }
        let depths = read(store).await?;
        *last = Some((Instant::now(), depths));
        Ok(depths)
    }
}

/// Three counts, each on an index the workers' claim queries use, and the embedding backlog.
async fn read(store: &Store) -> Result<QueueDepths, sqlx::Error> {
    let now = Utc::now();
    let (jobs_queued, deliveries_pending, monitors_due) = with_pool!(store.pool(), p => {
        let jobs_queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'pending'")
            .fetch_one(p).await?;
        let deliveries_pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status IN ('pending', 'sending')")
            .fetch_one(p).await?;
        let monitors_due: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM heartbeat_monitors WHERE enabled = $1 AND next_run_at <= $2")
            .bind(true).bind(now).fetch_one(p).await?;
        (jobs_queued, deliveries_pending, monitors_due)
    });
    let (backlog, oldest) = store.memory_vectors().backlog().await?;
    Ok(QueueDepths {
        jobs_queued,
        deliveries_pending,
        monitors_due,
        memory_embed_backlog: backlog,
        memory_embed_lag_seconds: oldest.map(|t| (now - t).num_seconds().max(0)).unwrap_or(0),
    })
}
