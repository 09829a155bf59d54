//! Group commit: one writer task per [`Store`](super::Store) takes turn writes (finished turns
//! and the user messages stored before inference) from a bounded queue, drains whatever is
//! queued (at most the batch cap, `ASTRA_TURN_WRITER_BATCH`, default 64) and writes the batch
//! in ONE transaction with one multi-row statement per table ([`super::turn_batch`]).
//!
//! Each caller awaits its acknowledgement, sent only after its batch committed: a reply sent
//! after [`submit`](TurnWriter::submit) returned is on disk, exactly as with a transaction per
//! turn — the speed comes from sharing the commit (and the statements), not from skipping it.
//! When a batch fails, its writes are retried one per transaction, so a bad write fails only
//! its own caller. [`TurnWriter::close`] stops accepting and writes everything already queued
//! before it returns (the store closes its pool after it).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{
    Pool,
    turn_batch::{TurnWrite, write_batch},
};

/// Writes per transaction when `ASTRA_TURN_WRITER_BATCH` is unset.
pub const DEFAULT_TURN_BATCH: usize = 64;
/// The largest batch cap accepted.
pub const MAX_TURN_BATCH: usize = 1024;

/// One queued write and where its outcome goes.
struct Job {
    write: TurnWrite,
    /// The write's session count after it (see [`write_batch`]), or the error.
    ack: oneshot::Sender<Result<Option<i64>, sqlx::Error>>,
}

/// What the writer did since the store opened (for tests and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub commits: u64,
    /// Writes committed.
    pub writes: u64,
    /// Writes retried alone after their batch failed.
    pub retried_alone: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
    retried_alone: AtomicU64,
}

/// The handle on a store's writer task.
pub(in crate::store) struct TurnWriter {
    queue: mpsc::Sender<Job>,
    closing: CancellationToken,
    /// Cancelled when the task ended (also when its runtime dropped it).
    done: CancellationToken,
    counters: Arc<Counters>,
}

impl TurnWriter {
    /// Spawns the writer on the current runtime; `batch` is clamped to `1..=MAX_TURN_BATCH`.
    pub(in crate::store) fn spawn(pool: Pool, batch: usize) -> Self {
        let batch = batch.clamp(1, MAX_TURN_BATCH);
        let (queue, rx) = mpsc::channel(batch * 4);
        let closing = CancellationToken::new();
        let done = CancellationToken::new();
        let counters = Arc::new(Counters::default());
        let task = Task {
            pool,
            batch,
            counters: counters.clone(),
            _done: done.clone().drop_guard(),
        };
        // Not on the app's task tracker: shutdown waits for those tasks (which may still record
        // turns) and only then calls `Store::close`, which drains this writer explicitly.
        #[allow(clippy::disallowed_methods)]
        tokio::spawn(task.run(rx, closing.clone()));
        Self {
            queue,
            closing,
            done,
            counters,
        }
    }

    /// Queues a write and waits until its batch committed (or it failed); answers the session's
    /// message count right after the write.
    pub(in crate::store) async fn submit(
        &self,
        write: TurnWrite,
    ) -> Result<Option<i64>, sqlx::Error> {
        let (ack, outcome) = oneshot::channel();
        self.queue
            .send(Job { write, ack })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // The sender goes only with the task (its runtime shut down): nothing was written.
        outcome.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }

    /// Stops accepting writes and waits until every queued one is written.
    pub(in crate::store) async fn close(&self) {
        self.closing.cancel();
        self.done.cancelled().await;
    }

    /// Counters since the store opened.
    pub(in crate::store) fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
            retried_alone: self.counters.retried_alone.load(Ordering::Relaxed),
        }
    }
}

/// The writer task's state.
struct Task {
    pool: Pool,
    batch: usize,
    counters: Arc<Counters>,
    _done: DropGuard,
}

impl Task {
    /// Until the queue is closed (by [`TurnWriter::close`] or the last store handle dropping)
    /// and empty: take what is queued, write it, acknowledge it.
    async fn run(self, mut rx: mpsc::Receiver<Job>, closing: CancellationToken) {
        let mut jobs = Vec::with_capacity(self.batch);
        let mut closed = false;
        loop {
            tokio::select! {
                n = rx.recv_many(&mut jobs, self.batch) => if n == 0 { break },
                () = closing.cancelled(), if !closed => {
                    // Refuse new writes; the ones already queued are still received.
                    rx.close();
                    closed = true;
                    continue;
                }
            }
            self.commit(&mut jobs).await;
        }
    }

    /// Writes `jobs` (emptying it) as one transaction; on failure, each alone.
    async fn commit(&self, jobs: &mut Vec<Job>) {
        let writes: Vec<&TurnWrite> = jobs.iter().map(|j| &j.write).collect();
        let result = write_batch(&self.pool, &writes).await;
        drop(writes);
        match result {
            Ok(counts) => {
                self.committed(jobs.len());
                for (job, count) in jobs.drain(..).zip(counts) {
                    let _ = job.ack.send(Ok(count));
                }
            }
            Err(e) if jobs.len() == 1 => {
                if let Some(job) = jobs.pop() {
                    let _ = job.ack.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, writes = jobs.len(), "a turn batch failed: writing its turns one by one");
                for job in jobs.drain(..) {
                    self.counters.retried_alone.fetch_add(1, Ordering::Relaxed);
                    let result = write_batch(&self.pool, &[&job.write]).await;
                    if result.is_ok() {
                        self.committed(1);
                    }
                    let _ = job
                        .ack
                        .send(result.map(|counts| counts.into_iter().next().flatten()));
                }
            }
        }
    }

    fn committed(&self, writes: usize) {
        self.counters.commits.fetch_add(1, Ordering::Relaxed);
        self.counters
            .writes
            .fetch_add(writes as u64, Ordering::Relaxed);
    }
}
