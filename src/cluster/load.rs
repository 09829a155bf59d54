//! Cluster-wide load figures: the agents running a turn and the open SSE streams of every
//! replica. Each replica publishes its own figures to `<prefix>load:<replica>` (a hash with
//! fields `busy` and `streams`) within [`CHECK_EVERY`] of a change and at least every
//! [`REFRESH`]; the hash expires [`TTL`] after its last write, so a replica that died stops
//! counting by itself, and an ordered shutdown deletes it at once. The cluster view sums the
//! hashes of the replicas the heartbeat lists.

use std::{
    sync::{Arc, LazyLock},
    time::{Duration, Instant},
};

use redis::Script;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{Redis, Unavailable};

/// How often a replica compares its figures with the ones it published.
pub const CHECK_EVERY: Duration = Duration::from_millis(200);
/// Unchanged figures are written again this often (keeps the hash alive).
pub const REFRESH: Duration = Duration::from_secs(10);
/// A replica's figures vanish this long after its last write.
pub const TTL: Duration = Duration::from_secs(30);

/// One replica's (or the cluster's) load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    /// Agents running a turn.
    pub busy_agents: i64,
    /// Open SSE streams.
    pub open_streams: i64,
}

/// `HSET` both figures and renew the TTL, in one step.
static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('HSET', KEYS[1], 'busy', ARGV[1], 'streams', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

fn key(redis: &Redis, replica: &str) -> String {
    redis.key(&format!("load:{replica}"))
}

/// Writes this replica's figures.
pub async fn publish(redis: &Redis, load: Load) -> Result<(), Unavailable> {
    let ttl = i64::try_from(TTL.as_millis()).unwrap_or(30_000);
    let _: i64 = redis
        .script(
            &PUBLISH,
            &[&key(redis, redis.replica_id())],
            &[load.busy_agents, load.open_streams, ttl],
        )
        .await?;
    Ok(())
}

/// Removes this replica's figures (ordered shutdown).
pub async fn withdraw(redis: &Redis) -> Result<(), Unavailable> {
    let _: i64 = redis
        .query(redis::cmd("DEL").arg(key(redis, redis.replica_id())))
        .await?;
    Ok(())
}

/// The sum of the figures `replicas` published (a replica without live figures adds nothing).
pub async fn cluster(redis: &Redis, replicas: &[String]) -> Result<Load, Unavailable> {
    let mut total = Load::default();
    for replica in replicas {
        let (busy, streams): (Option<i64>, Option<i64>) = redis
            .query(
                redis::cmd("HMGET")
                    .arg(key(redis, replica))
                    .arg("busy")
                    .arg("streams"),
            )
            .await?;
        total.busy_agents += busy.unwrap_or(0);
        total.open_streams += streams.unwrap_or(0);
    }
    Ok(total)
}

/// Publishes `read()` whenever it changes (checked every [`CHECK_EVERY`]) and every
/// [`REFRESH`] until shutdown, then withdraws. A failed write is retried at the next check.
pub fn spawn<F>(redis: Arc<Redis>, tasks: &TaskTracker, shutdown: &CancellationToken, read: F)
where
    F: Fn() -> Load + Send + Sync + 'static,
{
    let shutdown = shutdown.clone();
    tasks.spawn(async move {
        let mut published: Option<(Load, Instant)> = None;
        loop {
            let now = read();
            let due = published.is_none_or(|(last, at)| last != now || at.elapsed() >= REFRESH);
            if due {
                published = match publish(&redis, now).await {
                    Ok(()) => Some((now, Instant::now())),
                    Err(Unavailable) => None,
                };
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
        let _ = withdraw(&redis).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::test_redis;

    #[tokio::test]
    async fn the_cluster_view_sums_the_live_replicas() {
        let Some(a) = test_redis("load", false) else {
            return;
        };
        let b = a.as_replica("other-replica");
        publish(
            &a,
            Load {
                busy_agents: 2,
                open_streams: 3,
            },
        )
        .await
        .unwrap();
        publish(
            &b,
            Load {
                busy_agents: 1,
                open_streams: 4,
            },
        )
        .await
        .unwrap();
        let both = ["load-replica".to_string(), "other-replica".to_string()];
        let gone = "gone-replica".to_string();
        let sum = cluster(&a, &[both[0].clone(), both[1].clone(), gone])
            .await
            .unwrap();
        assert_eq!(
            sum,
            Load {
                busy_agents: 3,
                open_streams: 7
            }
        );
        // The figures expire by themselves.
        let ttl: i64 = a
            .query(redis::cmd("PTTL").arg(key(&a, "other-replica")))
            .await
            .unwrap();
        assert!(ttl > 0 && ttl <= 30_000, "{ttl}");
        withdraw(&b).await.unwrap();
        assert_eq!(cluster(&a, &both).await.unwrap().open_streams, 3);
    }

    #[tokio::test]
    async fn a_change_is_published_within_a_check() {
        let Some(redis) = test_redis("load-spawn", false) else {
            return;
        };
        let figures = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let (tasks, shutdown) = (TaskTracker::new(), CancellationToken::new());
        let read = {
            let figures = figures.clone();
            move || Load {
                busy_agents: 0,
                open_streams: figures.load(std::sync::atomic::Ordering::Relaxed),
            }
        };
        spawn(redis.clone(), &tasks, &shutdown, read);
        let me = [redis.replica_id().to_string()];
        figures.store(5, std::sync::atomic::Ordering::Relaxed);
        let mut seen = 0;
        for _ in 0..50 {
            seen = cluster(&redis, &me).await.unwrap().open_streams;
            if seen == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, 5);
        shutdown.cancel();
        tasks.close();
        tasks.wait().await;
        assert_eq!(cluster(&redis, &me).await.unwrap(), Load::default());
    }
}
