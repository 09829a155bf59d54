//! Background workers — the webhook outbox, the job queue, the heartbeat scheduler, the
//! memory embedding batcher, the retention task and the OTLP trace exporter — started
//! together on the app's task tracker.
//!
//! Workers are durable: everything they act on lives in tables and is claimed atomically with
//! a lease, so several replicas sharing one PostgreSQL never run one item twice and an item
//! left behind by a dead replica is picked up once its lease ends. The claiming loops (webhooks,
//! jobs, heartbeat) stop claiming as soon as the process starts draining (`state.draining`,
//! before the HTTP server drains), finishing the tick in progress; what they started runs on
//! within the shutdown grace. The shared settings, poll loop and backoff live in
//! [`crate::poll`].

use crate::{app::AppState, poll::poll_loop};

pub use crate::poll::{WorkersConfig, backoff};

/// Starts every worker on the app's task tracker (call once, after migrations).
pub fn start(state: &AppState) -> anyhow::Result<()> {
    let webhooks = crate::webhooks::worker::Sender::new(&state.store, &state.config)?;
    state.tasks.spawn(poll_loop(
        state.draining.clone(),
        state.config.workers.poll,
        "webhooks",
        move || {
            let w = webhooks.clone();
            async move { w.tick().await }
        },
    ));
    let jobs = crate::jobs::worker::Runner::new(state);
    let s = state.clone();
    state.tasks.spawn(poll_loop(
        state.draining.clone(),
        state.config.workers.poll,
        "jobs",
        move || {
            let (s, j) = (s.clone(), jobs.clone());
            async move { j.tick(&s).await }
        },
    ));
    let monitors = crate::heartbeat::worker::Scheduler::new(&state.store, &state.config)?;
    state.tasks.spawn(poll_loop(
        state.draining.clone(),
        state.config.workers.poll,
        "heartbeat",
        move || {
            let m = monitors.clone();
            async move { m.tick().await }
        },
    ));
    // Prunes tables that grow with every request (idempotency keys, tokens, runs, …).
    state.tasks.spawn(crate::retention::run_loop(
        state.store.clone(),
        state.config.retention,
        state.shutdown.clone(),
    ));
    // Reports whether PostgreSQL offers pgvector (detected, not used: see docs/memory-search.md).
    let store = state.store.clone();
    state.tasks.spawn(async move {
        match store.memory_vectors().vector_extension().await {
            Ok(Some(found)) => tracing::info!(
                pgvector = found,
                "memory vectors are ranked in Rust; the pgvector extension is not used"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not check for the pgvector extension"),
        }
    });
    // Embeds memory chunks after they are written (off the request path).
    let embedders = crate::memory::embed::Embedders::new(
        &state.config.memory,
        Some((state.providers.clone(), state.pricing.clone())),
    );
    let (store, stale_with) = (state.store.clone(), embedders.clone());
    state.tasks.spawn(async move {
        match crate::memory::indexer::requeue_stale(&store, &stale_with).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                workspaces = n,
                "memory embedder changed: re-embedding in the background"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not check memory vectors for a changed embedder")
            }
        }
    });
    let indexer = crate::memory::indexer::Indexer::new(&state.store, embedders);
    state.tasks.spawn(poll_loop(
        state.shutdown.clone(),
        state.config.workers.poll,
        "memory-embed",
        move || {
            let i = indexer.clone();
            async move { i.tick().await }
        },
    ));
    // Batches finished turns to the OTLP collector, when one is configured.
    state.otlp.start(&state.tasks, state.shutdown.clone());
    Ok(())
}
