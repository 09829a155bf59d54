//! Circuit breakers keyed by (provider, base URL, credentials): closed → open after N
//! failures within a window, open for a while, then half-open until M successes close it
//! (any failure reopens it).
//!
//! The operator's breaker of a provider ([`BreakerKey::Provider`]) only sees calls to the
//! configured base URL with the operator's key; a tenant's endpoint or workspace key has a
//! breaker of its own ([`BreakerKey::Scoped`]), so a dead tenant endpoint cannot open the
//! breaker everybody else depends on. Scoped breakers are not reported by diagnostics and
//! their number is capped.
//!
//! Time comes from an injectable [`Clock`] so tests can step through the states instantly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::inference::BreakerConfig;

/// Transitions kept per provider for diagnostics.
const HISTORY: usize = 20;
/// Most scoped breakers kept; past it, idle ones (closed, no recent failure) are dropped.
const MAX_SCOPED: usize = 4096;

/// Which breaker a call feeds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BreakerKey {
    /// The provider at its configured base URL with the operator's key.
    Provider(String),
    /// Any other combination: an endpoint override, a workspace credential, or both.
    Scoped {
        /// Provider id.
        provider: String,
        /// Base URL called.
        base_url: String,
        /// Whose credentials: `operator`, `none` or a credential id.
        scope: String,
    },
}

impl BreakerKey {
    /// The provider id.
    pub fn provider(&self) -> &str {
        match self {
            Self::Provider(p) | Self::Scoped { provider: p, .. } => p,
        }
    }
}

/// Source of time for the breakers.
pub trait Clock: Send + Sync {
    /// Monotonic now, for durations.
    fn now(&self) -> Instant;
    /// Wall-clock now, for reporting.
    fn wall(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn wall(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_wall: DateTime<Utc>,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            start_wall: Utc::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }
}

impl ManualClock {
    /// A clock frozen at the current instant.
    pub fn new() -> Self {
        Self::default()
    }

    /// Move time forward.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|p| p.into_inner());
        *offset += by;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.offset()
    }
    fn wall(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::from_std(self.offset()).unwrap_or_default();
        self.start_wall + offset
    }
}

/// Breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow; failures are counted.
    Closed,
    /// Calls are refused.
    Open,
    /// Probe calls flow; successes close, a failure reopens.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// One state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerTransition {
    /// State before.
    pub from: BreakerState,
    /// State after.
    pub to: BreakerState,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// A provider's breaker as reported by diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerSnapshot {
    /// Provider id.
    pub provider: String,
    /// `closed`, `open` or `half_open`.
    pub state: &'static str,
    /// Failures counted inside the current window (closed state only).
    pub failures: u32,
    /// Successes counted while half-open.
    pub half_open_successes: u32,
    /// When the breaker last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// When the state last changed.
    pub last_transition_at: Option<DateTime<Utc>>,
    /// Recent transitions, oldest first.
    pub transitions: Vec<BreakerTransition>,
}

#[derive(Debug)]
struct Entry {
    state: BreakerState,
    failures: VecDeque<Instant>,
    successes: u32,
    opened: Option<(Instant, DateTime<Utc>)>,
    history: VecDeque<BreakerTransition>,
}

impl Entry {
    fn new() -> Self {
        Self {
            state: BreakerState::Closed,
            failures: VecDeque::new(),
            successes: 0,
            opened: None,
            history: VecDeque::new(),
        }
    }

    fn move_to(&mut self, to: BreakerState, clock: &dyn Clock) {
        let at = clock.wall();
        if to == BreakerState::Open {
            self.opened = Some((clock.now(), at));
        }
        self.failures.clear();
        self.successes = 0;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(BreakerTransition {
            from: self.state,
            to,
            at,
        });
        self.state = to;
    }

    /// Open breakers become half-open lazily, whenever someone looks after `open_for`.
    fn refresh(&mut self, cfg: &BreakerConfig, clock: &dyn Clock) {
        let now = clock.now();
        if self.state == BreakerState::Open
            && self
                .opened
                .is_some_and(|(at, _)| now.saturating_duration_since(at) >= cfg.open_for)
        {
            self.move_to(BreakerState::HalfOpen, clock);
        }
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > cfg.window)
        {
            self.failures.pop_front();
        }
    }
}

/// All providers' breakers.
pub struct CircuitBreakers {
    cfg: BreakerConfig,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<BreakerKey, Entry>>,
    /// The cluster's Redis, once shared (see `breaker_shared`).
    pub(super) shared: OnceLock<Arc<crate::cluster::Redis>>,
}

impl CircuitBreakers {
    /// Breakers with the given thresholds and clock.
    pub fn new(cfg: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            cfg,
            clock,
            entries: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        }
    }

    /// The thresholds.
    pub fn config(&self) -> BreakerConfig {
        self.cfg
    }

    /// Opens the breaker of `key` (when it is not open) as if it had opened `open_for - left`
    /// ago: another replica opened the shared breaker.
    pub(super) fn adopt_open(&self, key: &BreakerKey, left: Duration) {
        self.with(key, |e, cfg, clock| {
            if e.state == BreakerState::Open {
                return;
            }
            e.move_to(BreakerState::Open, clock);
            let ago = cfg.open_for.saturating_sub(left);
            let now = clock.now();
            let wall = clock.wall() - chrono::Duration::from_std(ago).unwrap_or_default();
            e.opened = Some((now.checked_sub(ago).unwrap_or(now), wall));
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<BreakerKey, Entry>> {
        // A panic while holding the lock leaves consistent counters; keep serving.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<R>(
        &self,
        key: &BreakerKey,
        f: impl FnOnce(&mut Entry, &BreakerConfig, &dyn Clock) -> R,
    ) -> R {
        let mut entries = self.lock();
        if matches!(key, BreakerKey::Scoped { .. }) && !entries.contains_key(key) {
            self.make_room(&mut entries);
        }
        let entry = entries.entry(key.clone()).or_insert_with(Entry::new);
        entry.refresh(&self.cfg, self.clock.as_ref());
        f(entry, &self.cfg, self.clock.as_ref())
    }

    /// Keeps the scoped breakers under [`MAX_SCOPED`]: idle ones go first, then any.
    fn make_room(&self, entries: &mut HashMap<BreakerKey, Entry>) {
        let scoped = entries
            .keys()
            .filter(|k| matches!(k, BreakerKey::Scoped { .. }))
            .count();
        if scoped < MAX_SCOPED {
            return;
        }
        let (cfg, clock) = (&self.cfg, self.clock.as_ref());
        entries.retain(|k, e| {
            e.refresh(cfg, clock);
            matches!(k, BreakerKey::Provider(_))
                || e.state != BreakerState::Closed
                || !e.failures.is_empty()
        });
        let still = entries
            .keys()
            .filter(|k| matches!(k, BreakerKey::Scoped { .. }))
            .count();
        if still >= MAX_SCOPED {
            let victim = entries
                .keys()
                .find(|k| matches!(k, BreakerKey::Scoped { .. }))
                .cloned();
            if let Some(victim) = victim {
                entries.remove(&victim);
            }
        }
    }

    /// Current state of the operator's breaker of `provider`.
    pub fn state(&self, provider: &str) -> BreakerState {
        self.state_of(&BreakerKey::Provider(provider.to_string()))
    }

    /// Current state of any breaker (after any due open → half-open move).
    pub fn state_of(&self, key: &BreakerKey) -> BreakerState {
        self.with(key, |e, _, _| e.state)
    }

    /// Whether a call may be made now (closed or half-open).
    pub fn allows(&self, provider: &str) -> bool {
        self.state(provider) != BreakerState::Open
    }

    /// Record a successful call at the operator's endpoint of `provider`.
    pub fn record_success(&self, provider: &str) {
        self.success_of(&BreakerKey::Provider(provider.to_string()));
    }

    /// Record a failed call at the operator's endpoint of `provider`.
    pub fn record_failure(&self, provider: &str) {
        self.failure_of(&BreakerKey::Provider(provider.to_string()));
    }

    /// Record a successful call.
    pub fn success_of(&self, key: &BreakerKey) {
        self.with(key, |e, cfg, clock| {
            if e.state == BreakerState::HalfOpen {
                e.successes += 1;
                if e.successes >= cfg.half_open_successes {
                    e.move_to(BreakerState::Closed, clock);
                }
            }
        });
    }

    /// Record a failed call (one that says the provider is unhealthy).
    pub fn failure_of(&self, key: &BreakerKey) {
        self.with(key, |e, cfg, clock| match e.state {
            BreakerState::Closed => {
                e.failures.push_back(clock.now());
                if e.failures.len() >= cfg.failure_threshold as usize {
                    e.move_to(BreakerState::Open, clock);
                }
            }
            BreakerState::HalfOpen => e.move_to(BreakerState::Open, clock),
            BreakerState::Open => {}
        });
    }

    /// The operator's breaker of every provider that has been called, sorted by id
    /// (scoped breakers belong to tenants and are not reported).
    pub fn snapshot(&self) -> Vec<BreakerSnapshot> {
        let mut entries = self.lock();
        let mut out: Vec<BreakerSnapshot> = entries
            .iter_mut()
            .filter_map(|(key, e)| match key {
                BreakerKey::Provider(p) => Some((p, e)),
                BreakerKey::Scoped { .. } => None,
            })
            .map(|(provider, e)| {
                e.refresh(&self.cfg, self.clock.as_ref());
                BreakerSnapshot {
                    provider: provider.clone(),
                    state: e.state.as_str(),
                    failures: u32::try_from(e.failures.len()).unwrap_or(u32::MAX),
                    half_open_successes: e.successes,
                    opened_at: e.opened.map(|(_, wall)| wall),
                    last_transition_at: e.history.back().map(|t| t.at),
                    transitions: e.history.iter().cloned().collect(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.provider.cmp(&b.provider));
        out
    }
}
