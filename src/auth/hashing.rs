//! Bounded password hashing.
//!
//! Argon2id costs ~19 MiB and tens of milliseconds of one core per call. Unbounded, a burst of
//! logins or registrations exhausts memory and the blocking pool. [`HashGate`] admits at most
//! one hash per core at a time and runs each on the blocking pool, off the async runtime, so
//! the rest of the gateway (health, chat streams) keeps its workers.

use std::{sync::Arc, time::Duration};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// How long a request waits for a hashing slot before it is answered 503.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// A semaphore sized to the cores in front of the blocking pool.
#[derive(Clone)]
pub struct HashGate {
    permits: Arc<Semaphore>,
    size: usize,
}

/// The most slots a gate gets however many cores there are: below the login lock's limit, so
/// parallel correct logins of one email (each counted while in flight) never lock it.
pub const MAX_SLOTS: usize = 8;

impl Default for HashGate {
    /// One slot per core, at most [`MAX_SLOTS`].
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::new(cores.min(MAX_SLOTS))
    }
}

impl HashGate {
    /// A gate admitting `size` hashes at once (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many hashes may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Waits for a hashing slot; 503 when none frees up within [`QUEUE_TIMEOUT`].
    pub async fn acquire(&self) -> Result<HashSlot, ApiError> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| {
                ApiError::Unavailable("Too many sign-ins in progress; retry shortly".into())
            })?
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(HashSlot(permit))
    }

    /// Runs `work` on the blocking pool once a slot is free.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.acquire().await?.run(work).await
    }
}

/// A held hashing slot.
pub struct HashSlot(OwnedSemaphorePermit);

impl HashSlot {
    /// Runs `work` on the blocking pool; the slot is released when the work is done, even if
    /// the request was dropped meanwhile.
    pub async fn run<T, F>(self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.0;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_than_its_size_at_once() {
        let gate = HashGate::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let runs = (0..16).map(|_| {
            let (running, peak) = (running.clone(), peak.clone());
            gate.run(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Stands in for a hash: the gate runs it on a blocking thread.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_millis(10));
                running.fetch_sub(1, Ordering::SeqCst);
            })
        });
        for result in futures_util::future::join_all(runs).await {
            assert!(result.is_ok());
        }
        assert!(
            peak.load(Ordering::SeqCst) <= 2,
            "peak {}",
            peak.load(Ordering::SeqCst)
        );
    }
}
