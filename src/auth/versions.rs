//! The token-version cache: user id → current token version, read on every authenticated
//! request.
//!
//! A logout or a family revocation bumps the version in the database and then calls
//! [`VersionCache::invalidate`]. A request that read the old version just before that commit
//! must not put it back into the cache afterwards (that would reopen the revoked tokens for the
//! cache's lifetime), so reads note an invalidation epoch before querying and only cache their
//! result when no invalidation happened meanwhile. Other replicas still see a change within the
//! cache TTL.

use std::{sync::Mutex, time::Duration};

use crate::store::TtlCache;

/// How long a version is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(5);

/// Cached token versions with race-free invalidation.
pub struct VersionCache {
    entries: TtlCache<String, i64>,
    /// Bumped by every invalidation; guards check-then-put against invalidate.
    epoch: Mutex<u64>,
}

impl Default for VersionCache {
    fn default() -> Self {
        Self {
            entries: TtlCache::new(TTL),
            epoch: Mutex::new(0),
        }
    }
}

impl VersionCache {
    /// The cached version of a user, if fresh.
    pub fn get(&self, user_id: &str) -> Option<i64> {
        self.entries.get(&user_id.to_string())
    }

    /// The epoch to pass to [`VersionCache::put`]; take it before reading the database.
    pub fn epoch(&self) -> u64 {
        *self.epoch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Caches a version read from the database, unless an invalidation happened since `epoch`.
    pub fn put(&self, epoch: u64, user_id: &str, version: i64) {
        let current = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        if *current == epoch {
            self.entries.put(user_id.to_string(), version);
        }
    }

    /// Forgets a user's version; call after the change committed.
    pub fn invalidate(&self, user_id: &str) {
        let mut epoch = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        *epoch = epoch.wrapping_add(1);
        self.entries.forget(&user_id.to_string());
    }
}

impl VersionCache {
    /// Forgets every version (after invalidations may have been missed).
    pub fn clear(&self) {
        let mut epoch = self.epoch.lock().unwrap_or_else(|e| e.into_inner());
        *epoch = epoch.wrapping_add(1);
        self.entries.forget_where(|_| true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_from_before_an_invalidation_is_not_cached() {
        let cache = VersionCache::default();
        let before = cache.epoch();
        // The logout commits and invalidates while the read is in flight.
        cache.invalidate("usr_1");
        cache.put(before, "usr_1", 0);
        assert_eq!(cache.get("usr_1"), None);
        let after = cache.epoch();
        cache.put(after, "usr_1", 1);
        assert_eq!(cache.get("usr_1"), Some(1));
    }
}
