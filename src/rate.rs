//! Fixed-window request limiter keyed by IP, user or key, shared by auth and the chat routes.
//!
//! Rates use fixed one-minute windows: they give exact `remaining` and `reset` values for the
//! `RateLimit` headers, which token-bucket crates only approximate.
//!
//! With a shared Redis ([`RateLimiter::shared`]) the window of a key lives there and one Lua
//! script counts a request atomically, so N replicas allow exactly `limit` requests per window
//! between them. When Redis fails or is late the limiter falls back to its per-process window
//! (fail-open, logged by [`crate::cluster::Redis`]), or refuses with `Retry-After: 1` when the
//! cluster is configured fail-closed.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, LazyLock, Mutex},
    time::{Duration, Instant},
};

use crate::cluster::Redis;

/// One request against a fixed window, atomically: `KEYS[1]` the window's counter, `ARGV[1]`
/// the window in ms, `ARGV[2]` the limit. Refused requests are not counted (as in the local
/// window). Returns `{allowed (0/1), count, ms until reset}`.
static WINDOW_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local allowed = 0
if count < tonumber(ARGV[2]) then
  count = redis.call('INCR', KEYS[1])
  allowed = 1
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {allowed, count, ttl}
",
    )
});

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
    /// The cluster's Redis, when windows are shared.
    shared: Option<Arc<Redis>>,
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
            shared: None,
        }
    }

    /// Keeps the windows in the cluster's Redis (exact across replicas); `None` = local.
    pub fn shared(mut self, redis: Option<Arc<Redis>>) -> Self {
        self.shared = redis;
        self
    }

    /// Names the limiter in `astra_rate_limited_total{kind}`.
    pub fn named(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Counts one request for `key`; `None` when the limiter is off.
    pub async fn check(&self, key: &str) -> Option<RateDecision> {
        if self.limit == 0 {
            return None;
        }
        if let Some(redis) = &self.shared {
            match self.check_shared(redis, key).await {
                Ok(decision) => return Some(decision),
                Err(_) if redis.fail_closed() => {
                    crate::observability::rate_limited(self.kind);
                    return Some(RateDecision {
                        limit: self.limit,
                        remaining: 0,
                        reset_secs: 1,
                        allowed: false,
                    });
                }
                // Fail-open: this replica's own window (logged once by `Redis`).
                Err(_) => {}
            }
        }
        self.check_at(key, Instant::now())
    }

    async fn check_shared(
        &self,
        redis: &Redis,
        key: &str,
    ) -> Result<RateDecision, crate::cluster::Unavailable> {
        let redis_key = redis.key(&format!("rate:{}:{key}", self.kind));
        let window_ms = i64::try_from(WINDOW.as_millis()).unwrap_or(60_000);
        let (allowed, count, ttl_ms): (i64, i64, i64) = redis
            .script(
                &WINDOW_SCRIPT,
                &[&redis_key],
                &[window_ms, i64::from(self.limit)],
            )
            .await?;
        let allowed = allowed == 1;
        if !allowed {
            crate::observability::rate_limited(self.kind);
        }
        let count = u32::try_from(count.max(0)).unwrap_or(u32::MAX);
        let reset_ms = u64::try_from(ttl_ms.max(0)).unwrap_or(0);
        Ok(RateDecision {
            limit: self.limit,
            remaining: self.limit.saturating_sub(count),
            reset_secs: reset_ms.div_ceil(1000).max(1),
            allowed,
        })
    }

    /// Number of keys currently tracked.
    pub fn tracked_keys(&self) -> usize {
        self.windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }

    #[cfg(test)]
    fn check_at_now(&self, key: &str) -> Option<RateDecision> {
        self.check_at(key, Instant::now())
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
                .check_at_now("a")
                .is_some_and(|d| d.allowed && d.remaining == 1)
        );
        assert!(
            limiter
                .check_at_now("a")
                .is_some_and(|d| d.allowed && d.remaining == 0)
        );
        assert!(limiter.check_at_now("a").is_some_and(|d| !d.allowed));
        assert!(limiter.check_at_now("b").is_some_and(|d| d.allowed));
        assert!(RateLimiter::new(0).check_at_now("a").is_none());
    }

    #[test]
    fn distinct_keys_stay_bounded() {
        let limiter = RateLimiter::with_max_keys(5, 1_000);
        for i in 0..10_000 {
            assert!(
                limiter
                    .check_at_now(&format!("10.0.{}.{}", i / 256, i % 256))
                    .is_some()
            );
        }
        assert_eq!(limiter.tracked_keys(), 1_000);
        // The newest key is still counted properly.
        assert!(
            limiter
                .check_at_now("10.0.39.15")
                .is_some_and(|d| d.remaining == 3)
        );
        // The default cap holds too.
        let limiter = RateLimiter::new(5);
        for i in 0..(MAX_RATE_KEYS + 10) {
            limiter.check_at_now(&i.to_string());
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

#[cfg(test)]
mod shared_tests {
    use super::*;
    use crate::cluster::test_redis;

    #[tokio::test]
    async fn replicas_sharing_redis_allow_the_limit_between_them() {
        let Some(redis) = test_redis("rate-shared", false) else {
            return;
        };
        // Three replicas, each with its own limiter on the same Redis.
        let replicas: Vec<RateLimiter> = (0..3)
            .map(|_| {
                RateLimiter::new(5)
                    .named("user")
                    .shared(Some(redis.clone()))
            })
            .collect();
        let mut allowed = 0;
        let mut remaining = Vec::new();
        for i in 0..15 {
            let d = replicas[i % 3].check("usr_1").await.unwrap();
            if d.allowed {
                allowed += 1;
                remaining.push(d.remaining);
            } else {
                assert_eq!(d.remaining, 0);
            }
            assert!((1..=60).contains(&d.reset_secs), "{d:?}");
            assert_eq!(d.limit, 5);
        }
        assert_eq!(allowed, 5);
        assert_eq!(remaining, vec![4, 3, 2, 1, 0]);
        // Another key has a window of its own.
        assert!(replicas[0].check("usr_2").await.unwrap().allowed);
    }

    #[tokio::test]
    async fn concurrent_checks_never_exceed_the_limit() {
        let Some(redis) = test_redis("rate-concurrent", false) else {
            return;
        };
        let limiters: Vec<RateLimiter> = (0..4)
            .map(|_| RateLimiter::new(10).shared(Some(redis.clone())))
            .collect();
        let checks = (0..40).map(|i| limiters[i % 4].check("k"));
        let decisions = futures_util::future::join_all(checks).await;
        let allowed = decisions.iter().flatten().filter(|d| d.allowed).count();
        assert_eq!(allowed, 10);
    }

    #[tokio::test]
    async fn unreachable_redis_falls_back_to_local_windows_or_refuses() {
        let config = |fail_closed| crate::config::ClusterConfig {
            redis_url: Some(crate::config::Secret::new("redis://127.0.0.1:1")),
            timeout: Duration::from_millis(200),
            fail_closed,
            ..Default::default()
        };
        let open = Redis::from_config(&config(false)).unwrap().map(Arc::new);
        let limiter = RateLimiter::new(2).shared(open);
        assert!(limiter.check("a").await.unwrap().allowed);
        assert!(limiter.check("a").await.unwrap().allowed);
        // Still limited: per replica.
        assert!(!limiter.check("a").await.unwrap().allowed);
        let closed = Redis::from_config(&config(true)).unwrap().map(Arc::new);
        let limiter = RateLimiter::new(2).shared(closed);
        let d = limiter.check("a").await.unwrap();
        assert!(!d.allowed);
        assert_eq!(d.reset_secs, 1);
    }
}
