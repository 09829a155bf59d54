//! Short-lived read-through caches for rows every chat turn reads (membership, workspace,
//! agent, user): they turn four queries per turn into map lookups.
//!
//! Writes through this `Store` invalidate the affected keys after they commit; other replicas
//! see a change within [`TTL`]. Only rows that exist are cached, so a row created elsewhere is
//! never hidden by a cached miss.
//!
//! A read that started before a write committed must not put its (old) row back after the
//! write's invalidation: readers take a [`Ticket`] before they query and
//! [`TtlCache::put_if_unchanged`] refuses the value when any invalidation happened since.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::RwLock,
    time::{Duration, Instant},
};

use super::{AgentRow, UserRow, WorkspaceRow};

/// How long a cached row is trusted.
pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 50_000;

/// A map whose entries expire after a fixed time.
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<Entries<K, V>>,
}

struct Entries<K, V> {
    map: HashMap<K, (Instant, V)>,
    /// Bumped by every invalidation (under the write lock).
    generation: u64,
}

/// The invalidation generation a reader saw before it queried the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(Entries {
                map: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// A fresh value, if cached.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .map
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Caches a value.
    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.insert(&mut entries, key, value);
    }

    /// The current generation; take it before reading the row that will be cached.
    pub fn ticket(&self) -> Ticket {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        Ticket(entries.generation)
    }

    /// Caches a value read after `ticket` was taken, unless an invalidation happened since
    /// (the value may predate that write); true when cached.
    pub fn put_if_unchanged(&self, key: K, value: V, ticket: Ticket) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.generation != ticket.0 {
            return false;
        }
        self.insert(&mut entries, key, value);
        true
    }

    fn insert(&self, entries: &mut Entries<K, V>, key: K, value: V) {
        if entries.map.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.map.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.map.len() >= MAX_ENTRIES {
                entries.map.clear();
            }
        }
        entries.map.insert(key, (Instant::now(), value));
    }

    /// Forgets one entry.
    pub fn forget(&self, key: &K) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation = entries.generation.wrapping_add(1);
        entries.map.remove(key);
    }

    /// Forgets entries matching `pred`.
    pub fn forget_where(&self, pred: impl Fn(&K) -> bool) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.generation = entries.generation.wrapping_add(1);
        entries.map.retain(|k, _| !pred(k));
    }
}

/// The caches of one store.
pub struct StoreCaches {
    /// (workspace, user) → role.
    pub roles: TtlCache<(String, String), String>,
    /// workspace id → row.
    pub workspaces: TtlCache<String, WorkspaceRow>,
    /// (workspace, agent id) → row.
    pub agents: TtlCache<(String, String), AgentRow>,
    /// user id → row (for prompts; auth paths read the database).
    pub users: TtlCache<String, UserRow>,
    /// Invalidations to send to the other replicas (set when cluster notices are on).
    pub outbox: super::cluster::Outbox,
    /// Conversation windows of the sessions served last (validated by count, see
    /// [`super::session_window`]).
    pub windows: super::session_window::SessionWindows,
}

impl Default for StoreCaches {
    fn default() -> Self {
        Self {
            roles: TtlCache::new(TTL),
            workspaces: TtlCache::new(TTL),
            agents: TtlCache::new(TTL),
            users: TtlCache::new(TTL),
            outbox: Default::default(),
            windows: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_predates_an_invalidation_is_not_cached() {
        let cache: TtlCache<&str, &str> = TtlCache::new(TTL);
        let before = cache.ticket();
        // A write commits and invalidates while the reader's query is in flight.
        cache.forget(&"k");
        assert!(!cache.put_if_unchanged("k", "old", before));
        assert_eq!(cache.get(&"k"), None);
        let after = cache.ticket();
        assert!(cache.put_if_unchanged("k", "new", after));
        assert_eq!(cache.get(&"k"), Some("new"));
    }
}
