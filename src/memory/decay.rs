//! Decay: daily entries older than the memory TTL of their workspace are deleted by a small
//! background task.
//!
//! TTLs belong to memory profiles, which belong to agents, while memory belongs to a user in a
//! workspace; so an entry is pruned only once it is older than the TTL of *every* agent of its
//! workspace (the longest TTL wins, and an agent without a TTL keeps memory forever). Notes and
//! the profile never expire; session messages are only left out of context by the TTL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::store::Store;

/// Time between two decay runs.
pub const DECAY_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// Delay before the first run, so start-up is not slowed down.
const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecayReport {
    /// Daily entries deleted.
    pub entries: u64,
    /// Index counters of past days forgotten.
    pub counters: u64,
}

/// Prunes expired daily entries of every workspace as of `now`.
pub async fn run_once(store: &Store, now: DateTime<Utc>) -> Result<DecayReport, sqlx::Error> {
    let mut report = DecayReport::default();
    for (workspace_id, ttl) in store.memory().workspace_memory_ttls().await? {
        if let Some(days) = ttl {
            let cutoff = now - chrono::Duration::days(days);
            report.entries += store
                .memory()
                .prune_daily_entries(&workspace_id, cutoff)
                .await?;
        }
    }
    // Yesterday's counter stays: a turn that started before midnight may still write to it.
    let keep_from = (now - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    report.counters = store.memory().prune_daily_counters(&keep_from).await?;
    Ok(report)
}

/// One run unless another replica sharing the database is running one (then `None`): the
/// run holds the `memory-decay` advisory lock on PostgreSQL, like retention's passes.
pub async fn exclusive_run(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<DecayReport>, sqlx::Error> {
    let Some(lock) = store.try_exclusive("memory-decay").await? else {
        tracing::debug!("memory decay: another replica is running it");
        return Ok(None);
    };
    let report = run_once(store, now).await;
    lock.release().await;
    report.map(Some)
}

/// Starts the decay loop on `tasks`; it stops when `shutdown` is cancelled.
pub fn spawn(store: &Store, tasks: &TaskTracker, shutdown: &CancellationToken) {
    let store = store.clone();
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        let mut wait = FIRST_RUN_AFTER;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = DECAY_INTERVAL;
            match exclusive_run(&store, Utc::now()).await {
                Ok(Some(r)) if r.entries > 0 => {
                    tracing::info!(entries = r.entries, "memory decay pruned daily entries");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "memory decay failed"),
            }
        }
    });
}
