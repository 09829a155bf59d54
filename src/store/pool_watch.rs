//! How long write transactions wait to begin, for the metrics. Every write transaction
//! begins through [`super::BeginWrite`], which times the begin here and notes whether the
//! pool was exhausted when asked (no idle connection and already at its maximum size), i.e.
//! whether the begin had to wait for another task to release a connection. Single statements
//! and reads acquire inside sqlx and are not timed.
//!
//! The store does not import the metrics module (which reads the store), so the metrics
//! module registers a function here instead ([`observe_begins`]).

use std::{
    future::Future,
    sync::OnceLock,
    time::{Duration, Instant},
};

/// One write-transaction begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginSample {
    /// Until the transaction was open: a pooled connection, plus `BEGIN` (on SQLite `BEGIN
    /// IMMEDIATE`, which also waits for the database's write lock).
    pub elapsed: Duration,
    /// The pool had no idle connection and was at its maximum size.
    pub waited: bool,
}

static OBSERVER: OnceLock<fn(BeginSample)> = OnceLock::new();

/// Registers where samples go (the first registration stays).
pub fn observe_begins(observer: fn(BeginSample)) {
    let _ = OBSERVER.set(observer);
}

/// True when an acquire now must wait for a connection to be released.
pub(super) fn exhausted(size: u32, idle: usize, max: u32) -> bool {
    idle == 0 && size >= max
}

/// Runs `begin`, reporting how long it took.
pub(super) async fn timed<T>(waited: bool, begin: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = begin.await;
    if let Some(observer) = OBSERVER.get() {
        observer(BeginSample {
            elapsed: started.elapsed(),
            waited,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_pool_without_idle_connections_waits() {
        assert!(exhausted(4, 0, 4));
        assert!(!exhausted(4, 1, 4));
        assert!(!exhausted(3, 0, 4), "a new connection is opened instead");
    }
}
