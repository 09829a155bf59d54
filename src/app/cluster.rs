//! Starts what makes this process one replica of a cluster: the Redis heartbeat and load
//! figures (busy agents, open streams), and on
//! PostgreSQL the cache-invalidation notifier and listener (store caches and the auth
//! token-version cache of every replica drop a changed row right after its commit).

use super::AppState;

/// Spawns the cluster tasks on the state's tracker (nothing on SQLite without Redis).
pub fn start_cluster(state: &AppState) {
    let replica = state.config.cluster.replica_id.clone();
    tracing::info!(replica = %replica, redis = state.redis.is_some(), "replica identity");
    if let Some(redis) = &state.redis {
        crate::cluster::heartbeat::spawn(redis.clone(), &state.tasks, &state.shutdown);
        let figures = state.clone();
        let read = move || crate::cluster::load::Load {
            busy_agents: i64::try_from(figures.presence.busy_count()).unwrap_or(i64::MAX),
            open_streams: figures
                .open_streams
                .load(std::sync::atomic::Ordering::Relaxed),
        };
        crate::cluster::load::spawn(redis.clone(), &state.tasks, &state.shutdown, read);
    }
    let Some(outbox) = state.store.enable_cluster_notices() else {
        return;
    };
    let (store, shutdown) = (state.store.clone(), state.shutdown.clone());
    let origin = replica.clone();
    state
        .tasks
        .spawn(async move { store.run_notifier(origin, outbox, shutdown).await });
    let listening = state.clone();
    let shutdown = state.shutdown.clone();
    state.tasks.spawn(async move {
        let apply = |i: &crate::store::Invalidation| listening.auth.apply_invalidation(i);
        listening.store.run_listener(replica, apply, shutdown).await;
    });
}
