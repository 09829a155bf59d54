//! Replica heartbeats: every replica writes `<prefix>replicas` (a sorted set, member = replica
//! id, score = last beat in ms) every [`INTERVAL`]; `/admin/health` lists the replicas seen in
//! the last minute.

use std::{sync::Arc, time::Duration};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{Redis, now_ms};

/// How often a replica beats.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// A replica that has not beaten for this long is no longer listed.
pub const SEEN_WITHIN: Duration = Duration::from_secs(60);

/// Beats until shutdown, then removes this replica from the set.
pub fn spawn(redis: Arc<Redis>, tasks: &TaskTracker, shutdown: &CancellationToken) {
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        loop {
            let _ = beat(&redis).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(INTERVAL) => {}
            }
        }
        let _: Result<i64, _> = redis
            .query(
                redis::cmd("ZREM")
                    .arg(redis.key("replicas"))
                    .arg(redis.replica_id()),
            )
            .await;
    });
}

/// Records one beat of this replica and drops replicas gone for long.
pub async fn beat(redis: &Redis) -> Result<(), super::Unavailable> {
    let now = now_ms();
    let stale = now - 10 * i64::try_from(SEEN_WITHIN.as_millis()).unwrap_or(i64::MAX / 20);
    let key = redis.key("replicas");
    let _: i64 = redis
        .query(
            redis::cmd("ZADD")
                .arg(&key)
                .arg(now)
                .arg(redis.replica_id()),
        )
        .await?;
    let _: i64 = redis
        .query(
            redis::cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(stale),
        )
        .await?;
    Ok(())
}

/// The replicas that beat within [`SEEN_WITHIN`], sorted by id.
pub async fn seen(redis: &Redis) -> Result<Vec<String>, super::Unavailable> {
    let since = now_ms() - i64::try_from(SEEN_WITHIN.as_millis()).unwrap_or(60_000);
    let mut ids: Vec<String> = redis
        .query(
            redis::cmd("ZRANGEBYSCORE")
                .arg(redis.key("replicas"))
                .arg(since)
                .arg("+inf"),
        )
        .await?;
    ids.sort();
    Ok(ids)
}
