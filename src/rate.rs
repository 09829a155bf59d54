//! Fixed-window request limiter keyed by IP, user or key, shared by auth and the chat routes.
//!
//! Rates use fixed one-minute windows: they give exact `remaining` and `reset` values for the
//! `RateLimit` headers, which token-bucket crates only approximate.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// The state of one key's window after a request was counted.
#[derive(Debug, Clone, Copy)]
pub struct RateDecision {
    /// The limit per window.
    pub limit: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset_secs: u64,
    /// False when this request is over the limit.
    pub allowed: bool,
}

impl RateDecision {
    /// `RateLimit-Policy` header value.
    pub fn policy_header(&self) -> String {
        format!("{};w=60", self.limit)
    }
    /// `RateLimit` header value.
    pub fn header(&self) -> String {
        format!(
            "limit={}, remaining={}, reset={}",
            self.limit, self.remaining, self.reset_secs
        )
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Requests per minute allowed on the autonomous routes (per internal key).
pub const AUTONOMOUS_PER_MINUTE: u32 = 60;
/// Most keys tracked at once: past it the oldest window is dropped, so a flood of distinct
/// keys (addresses, users) costs bounded memory.
pub const MAX_RATE_KEYS: usize = 100_000;

/// Fixed-window counters keyed by IP or user.
pub struct RateLimiter {
    limit: u32,
    kind: &'static str,
    max_keys: usize,
    windows: Mutex<Windows>,
}

/// The counters, and the keys in the order their windows started: windows expire in that
/// order, so expired ones are dropped from the front in amortised O(1) per request.
#[derive(Default)]
struct Windows {
    map: HashMap<String, (Instant, u32)>,
    order: VecDeque<(Instant, String)>,
}

impl Windows {
    /// Drops expired windows, then the oldest live ones while more than `max` keys remain.
    fn evict(&mut self, now: Instant, max: usize) {
        while let Some((start, key)) = self.order.front() {
            let current = self.map.get(key).is_some_and(|(s, _)| s == start);
            let expired = now.duration_since(*start) >= WINDOW;
            if current && !expired && self.map.len() <= max {
                break;
            }
            if current {
                self.map.remove(key);
            }
            // Else a stale marker of a window that restarted later: drop it alone.
            self.order.pop_front();
        }
    }
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per minute per key (0 = unlimited).
    pub fn new(limit: u32) -> Self {
        Self::with_max_keys(limit, MAX_RATE_KEYS)
    }

    /// Like [`RateLimiter::new`], tracking at most `max_keys` keys.
    pub fn with_max_keys(limit: u32, max_keys: usize) -> Self {
        Self {
            limit,
            kind: "other",
            max_keys: max_keys.max(1),
            windows: Mutex::new(Windows::default()),
        }
    }

    /// Names the limiter in `astra_rate_limited_total{kind}`.
    pub fn named(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Counts one request for `key`; `None` when the limiter is off.
    pub fn check(&self, key: &str) -> Option<RateDecision> {
        self.check_at(key, Instant::now())
    }

    /// Number of keys currently tracked.
    pub fn tracked_keys(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    fn check_at(&self, key: &str, now: Instant) -> Option<RateDecision> {
        if self.limit == 0 {
            return None;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        // Room for this key if it is new.
        let room = if windows.map.contains_key(key) {
            self.max_keys
        } else {
            self.max_keys - 1
        };
        windows.evict(now, room);
        let Windows { map, order } = &mut *windows;
        let entry = map.entry(key.to_string()).or_insert_with(|| {
            order.push_back((now, key.to_string()));
            (now, 0)
        });
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
            order.push_back((now, key.to_string()));
        }
        let allowed = entry.1 < self.limit;
        if allowed {
            entry.1 += 1;
        } else {
            crate::observability::rate_limited(self.kind);
        }
        let elapsed = now.duration_since(entry.0);
        Some(RateDecision {
            limit: self.limit,
            remaining: self.limit.saturating_sub(entry.1),
            reset_secs: WINDOW.saturating_sub(elapsed).as_secs().max(1),
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_and_refuses() {
        let limiter = RateLimiter::new(2);
        assert!(
            limiter
                .check("a")
                .is_some_and(|d| d.allowed && d.remaining == 1)
        );
        assert!(
            limiter
                .check("a")
                .is_some_and(|d| d.allowed && d.remaining == 0)
        );
        assert!(limiter.check("a").is_some_and(|d| !d.allowed));
        assert!(limiter.check("b").is_some_and(|d| d.allowed));
        assert!(RateLimiter::new(0).check("a").is_none());
    }

    #[test]
    fn distinct_keys_stay_bounded() {
        let limiter = RateLimiter::with_max_keys(5, 1_000);
        for i in 0..10_000 {
            assert!(
                limiter
                    .check(&format!("10.0.{}.{}", i / 256, i % 256))
                    .is_some()
            );
        }
        assert_eq!(limiter.tracked_keys(), 1_000);
        // The newest key is still counted properly.
        assert!(
            limiter
                .check("10.0.39.15")
                .is_some_and(|d| d.remaining == 3)
        );
        // The default cap holds too.
        let limiter = RateLimiter::new(5);
        for i in 0..(MAX_RATE_KEYS + 10) {
            limiter.check(&i.to_string());
        }
        assert_eq!(limiter.tracked_keys(), MAX_RATE_KEYS);
    }

    #[test]
    fn expired_windows_are_evicted() {
        let limiter = RateLimiter::new(5);
        let start = Instant::now();
        for i in 0..10_000 {
            limiter.check_at(&format!("k{i}"), start);
        }
        assert_eq!(limiter.tracked_keys(), 10_000);
        // One request a minute later sweeps every expired window.
        limiter.check_at("late", start + WINDOW);
        assert_eq!(limiter.tracked_keys(), 1);
        // A key whose window restarted keeps only its newest marker alive.
        limiter.check_at("late", start + WINDOW * 2);
        limiter.check_at("other", start + WINDOW * 2 + Duration::from_secs(1));
        assert_eq!(limiter.tracked_keys(), 2);
    }
}
