//! The operator breakers shared through the cluster's Redis: failures are counted in one
//! sorted set per provider (`<prefix>breaker:<provider>:failures`) by an atomic script, and
//! the one that reaches the threshold sets `<prefix>breaker:<provider>:open` for `open_for`.
//! Every replica looks at that flag before a call and opens its own breaker for the time
//! left, so a provider failing on any replica is refused on all of them; half-open probing
//! stays per replica. Scoped (tenant) breakers stay per replica. When Redis is down the
//! per-replica breakers go on alone.

use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

use super::breaker::{BreakerKey, BreakerState, CircuitBreakers};
use crate::cluster::{Redis, now_ms};

/// `KEYS[1]` failures (sorted set), `KEYS[2]` the open flag; `ARGV`: now (ms), window (ms),
/// threshold, open time (ms), a unique member. Returns 1 when this failure opened the breaker.
static FAILURE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
",
    )
});

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl CircuitBreakers {
    /// Shares the operator breakers through `redis` from now on.
    pub fn share(&self, redis: Arc<Redis>) {
        let _ = self.shared.set(redis);
    }

    /// The Redis and the key stem of a shared breaker (operator breakers only).
    fn shared_key(&self, key: &BreakerKey) -> Option<(&Redis, String)> {
        let redis = self.shared.get()?;
        match key {
            BreakerKey::Provider(p) => Some((redis, redis.key(&format!("breaker:{p}")))),
            BreakerKey::Scoped { .. } => None,
        }
    }

    /// Opens this replica's breaker when another replica opened the shared one.
    pub async fn pull_shared(&self, key: &BreakerKey) {
        let Some((redis, stem)) = self.shared_key(key) else {
            return;
        };
        let left: Result<i64, _> = redis
            .query(redis::cmd("PTTL").arg(format!("{stem}:open")))
            .await;
        if let Ok(ms) = left
            && ms > 0
        {
            self.adopt_open(key, Duration::from_millis(ms.unsigned_abs()));
        }
    }

    /// Records a failed call here and, for a shared breaker, in the cluster's count.
    pub async fn failure_shared(&self, key: &BreakerKey) {
        let before = self.state_of(key);
        self.failure_of(key);
        let Some((redis, stem)) = self.shared_key(key) else {
            return;
        };
        let cfg = self.config();
        let open_key = format!("{stem}:open");
        match before {
            BreakerState::Closed => {
                let opened: Result<i64, _> = redis
                    .script(
                        &FAILURE_SCRIPT,
                        &[&format!("{stem}:failures"), &open_key],
                        &[
                            now_ms(),
                            millis(cfg.window),
                            i64::from(cfg.failure_threshold),
                            millis(cfg.open_for).max(1),
                            rand::random::<i64>(),
                        ],
                    )
                    .await;
                if opened.is_ok_and(|o| o == 1) {
                    self.adopt_open(key, cfg.open_for);
                }
            }
            // A failed probe reopened this replica's breaker: reopen it everywhere.
            BreakerState::HalfOpen if self.state_of(key) == BreakerState::Open => {
                let _: Result<(), _> = redis
                    .query(
                        redis::cmd("SET")
                            .arg(&open_key)
                            .arg(now_ms())
                            .arg("PX")
                            .arg(millis(cfg.open_for).max(1)),
                    )
                    .await;
            }
            _ => {}
        }
    }

    /// Pulls the shared state of the operator breaker of every provider in `ids` (for views).
    pub async fn pull_shared_providers(&self, ids: &[String]) {
        for id in ids {
            self.pull_shared(&BreakerKey::Provider(id.clone())).await;
        }
    }
}
