//! The background batcher that embeds memory chunks after they are written: a trigger queues
//! every new chunk (profile key, daily entry, note, session message); each round takes the
//! oldest queued chunks, embeds them with their workspace's embedder in one call per embedder,
//! stores the vectors and takes the chunks off the queue. A turn never waits for it. Stored
//! vectors are upserted, so two replicas racing on a chunk only repeat work. The backlog and
//! the age of its oldest item are gauges (`astra_memory_embed_backlog`,
//! `astra_memory_embed_lag_seconds`); embedded chunks count in `astra_memory_embedded_total`.
//! What an HTTP embedder is billed for a round is recorded as usage rows of the chunks' owners
//! in the transaction that stores the vectors. At start-up, [`requeue_stale`] re-queues the
//! workspaces whose vectors were written by another embedder than the one they now use (the
//! default embedder changed, e.g. a model2vec folder was named, or its dimension did).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::embed::{
    Embedder, Embedders, to_bytes,
    usage::{self, Share},
};
use crate::observability::names::MEMORY_EMBEDDED;
use crate::store::{EmbedJob, NewVector, Store};

/// Puts back on the queue every chunk of the workspaces holding vectors of an embedder other
/// than theirs now; answers how many workspaces. Settings changes re-queue at once (the
/// workspace service); this catches changes of `astra.yml` or the environment.
pub async fn requeue_stale(store: &Store, embedders: &Embedders) -> Result<u64, sqlx::Error> {
    let now = Utc::now();
    let mut requeued = 0;
    let mut last: Option<String> = None;
    for (ws, embedder) in store.memory_vectors().embedders_in_use().await? {
        if last.as_deref() == Some(ws.as_str()) {
            continue;
        }
        let current = super::hybrid::embedder_of(store, embedders, &ws).await?;
        if current.id() != embedder {
            store.memory_vectors().requeue_workspace(&ws, now).await?;
            requeued += 1;
            last = Some(ws);
        }
    }
    Ok(requeued)
}

/// Embeds queued chunks.
#[derive(Clone)]
pub struct Indexer {
    store: Store,
    embedders: Embedders,
}

impl Indexer {
    /// A batcher over `store`'s queue.
    pub fn new(store: &Store, embedders: Embedders) -> Self {
        Self {
            store: store.clone(),
            embedders,
        }
    }

    /// One round: answers whether a full batch was done (more may be waiting). Fails when
    /// every embedder of the batch failed, so the poll loop backs off.
    pub async fn tick(&self) -> anyhow::Result<bool> {
        let batch = self.embedders.config().batch_size;
        let jobs = self
            .store
            .memory_vectors()
            .queued(i64::try_from(batch).unwrap_or(64))
            .await?;
        if jobs.is_empty() {
            return Ok(false);
        }
        let mut groups: HashMap<String, (Arc<dyn Embedder>, Vec<&EmbedJob>)> = HashMap::new();
        for job in &jobs {
            let e = self.embedders.for_settings(&job.settings.0);
            groups
                .entry(e.id().to_string())
                .or_insert_with(|| (e, Vec::new()))
                .1
                .push(job);
        }
        let (mut done, mut failed) = (0usize, None);
        for (id, (embedder, group)) in groups {
            let texts: Vec<String> = group.iter().map(|j| j.content.clone()).collect();
            let embedded = match embedder.embed_metered(&texts).await {
                Ok(e) if e.vectors.len() == group.len() => e,
                Ok(e) => {
                    failed = Some(anyhow::anyhow!(
                        "{id}: {} vectors for {} chunks",
                        e.vectors.len(),
                        group.len()
                    ));
                    continue;
                }
                Err(e) => {
                    tracing::warn!(embedder = %id, error = %e, "embedding memory chunks failed");
                    failed = Some(e.into());
                    continue;
                }
            };
            let now = Utc::now();
            let usage = match &embedded.billed {
                Some(billed) => {
                    let shares: Vec<Share<'_>> = group
                        .iter()
                        .map(|j| Share {
                            user_id: &j.user_id,
                            workspace_id: &j.workspace_id,
                            chars: j.content.chars().count(),
                        })
                        .collect();
                    usage::rows(billed, self.embedders.pricing(), &shares, now)
                }
                None => Vec::new(),
            };
            let rows: Vec<NewVector<'_>> = group
                .iter()
                .zip(embedded.vectors)
                .map(|(job, v)| NewVector {
                    chunk_id: job.chunk_id,
                    user_id: &job.user_id,
                    workspace_id: &job.workspace_id,
                    embedder: &id,
                    dim: i32::try_from(v.len()).unwrap_or(i32::MAX),
                    bytes: to_bytes(&v),
                })
                .collect();
            self.store
                .memory_vectors()
                .store(&rows, &usage, now)
                .await?;
            metrics::counter!(MEMORY_EMBEDDED, "embedder" => id.clone())
                .increment(rows.len() as u64);
            done += rows.len();
        }
        match failed {
            Some(e) if done == 0 => Err(e),
            _ => Ok(jobs.len() == batch && failed.is_none()),
        }
    }
}
