//! Short-lived read-through caches for rows every chat turn reads (membership, workspace,
//! agent, user): they turn four queries per turn into map lookups.
//!
//! Writes through this `Store` invalidate the affected keys at once; other replicas see a
//! change within [`TTL`]. Only rows that exist are cached, so a row created elsewhere is never
//! hidden by a cached miss.

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
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// An empty cache.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// A fresh value, if cached.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    /// Caches a value.
    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Forgets one entry.
    pub fn forget(&self, key: &K) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(key);
    }

    /// Forgets entries matching `pred`.
    pub fn forget_where(&self, pred: impl Fn(&K) -> bool) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| !pred(k));
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
}

impl Default for StoreCaches {
    fn default() -> Self {
        Self {
            roles: TtlCache::new(TTL),
            workspaces: TtlCache::new(TTL),
            agents: TtlCache::new(TTL),
            users: TtlCache::new(TTL),
        }
    }
}
