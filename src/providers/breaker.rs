//! Per-provider circuit breakers: closed → open after N failures within a window, open for
//! a while, then half-open until M successes close it (any failure reopens it).
//!
//! Time comes from an injectable [`Clock`] so tests can step through the states instantly.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::config::BreakerConfig;

/// Transitions kept per provider for diagnostics.
const HISTORY: usize = 20;

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
    entries: Mutex<HashMap<String, Entry>>,
}

impl CircuitBreakers {
    /// Breakers with the given thresholds and clock.
    pub fn new(cfg: BreakerConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            cfg,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves consistent counters; keep serving.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with<R>(
        &self,
        provider: &str,
        f: impl FnOnce(&mut Entry, &BreakerConfig, &dyn Clock) -> R,
    ) -> R {
        let mut entries = self.lock();
        let entry = entries
            .entry(provider.to_string())
            .or_insert_with(Entry::new);
        entry.refresh(&self.cfg, self.clock.as_ref());
        f(entry, &self.cfg, self.clock.as_ref())
    }

    /// Current state (after any due open → half-open move).
    pub fn state(&self, provider: &str) -> BreakerState {
        self.with(provider, |e, _, _| e.state)
    }

    /// Whether a call may be made now (closed or half-open).
    pub fn allows(&self, provider: &str) -> bool {
        self.state(provider) != BreakerState::Open
    }

    /// Record a successful call.
    pub fn record_success(&self, provider: &str) {
        self.with(provider, |e, cfg, clock| {
            if e.state == BreakerState::HalfOpen {
                e.successes += 1;
                if e.successes >= cfg.half_open_successes {
                    e.move_to(BreakerState::Closed, clock);
                }
            }
        });
    }

    /// Record a failed call (one that says the provider is unhealthy).
    pub fn record_failure(&self, provider: &str) {
        self.with(provider, |e, cfg, clock| match e.state {
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

    /// Every provider that has been called, sorted by id.
    pub fn snapshot(&self) -> Vec<BreakerSnapshot> {
        let mut entries = self.lock();
        let mut out: Vec<BreakerSnapshot> = entries
            .iter_mut()
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
