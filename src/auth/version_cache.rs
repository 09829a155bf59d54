//! A short-lived in-process cache of users' token versions.
//!
//! Checking the version on every request would cost a database round trip; caching it for a
//! few seconds bounds how long a logout on another replica takes to reach this one, while a
//! logout on this replica takes effect at once.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

const MAX_ENTRIES: usize = 100_000;

/// user id → (token version, cached at).
pub struct VersionCache {
    ttl: Duration,
    entries: RwLock<HashMap<String, (i64, Instant)>>,
}

impl VersionCache {
    /// An empty cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// A fresh cached version, if any.
    pub fn get(&self, user_id: &str) -> Option<i64> {
        let entries = self.entries.read().ok()?;
        entries
            .get(user_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| *v)
    }

    /// Caches a version.
    pub fn put(&self, user_id: &str, version: i64) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(user_id.to_string(), (version, Instant::now()));
        }
    }

    /// Drops a user's entry (after logout).
    pub fn forget(&self, user_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(user_id);
        }
    }
}
