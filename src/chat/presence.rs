//! Live agent presence per user: what each of the caller's agents is doing right now, and
//! the changes as they happen ([`Presence::subscribe`]).

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::presence_feed::{PresenceFeed, PresenceSubscription};

/// What an agent is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// Waiting for the model.
    Thinking,
    /// Running tools.
    Tool,
    /// Streaming text.
    Streaming,
    /// Between turns.
    Idle,
}

/// One agent's presence.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// Agent.
    pub agent_id: String,
    /// Session.
    pub session_id: String,
    /// Surface.
    pub surface: String,
    /// Surface id.
    pub surface_id: String,
    /// State.
    pub state: PresenceState,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// Idle entries older than this are forgotten.
const IDLE_TTL: Duration = Duration::from_secs(3600);
/// Busy entries unchanged for this long belong to a turn that ended without saying so
/// (every turn is bounded by the request or job timeout, far below this).
const BUSY_TTL: Duration = Duration::from_secs(6 * 3600);
/// Slots kept per user. Every `agent_run` job has its own surface id, so without a cap a
/// user enqueuing jobs grows the map without end; past it the oldest idle slot goes.
pub const MAX_SLOTS_PER_USER: usize = 64;
/// Entries kept across all users before idle ones are dropped wholesale.
const MAX_TOTAL: usize = 100_000;
/// How often `set` sweeps every user's expired entries.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

type Slot = (String, String, String);

/// Presence of every user's agents, in process.
pub struct Presence {
    inner: Mutex<Inner>,
    feed: PresenceFeed,
}

struct Inner {
    users: HashMap<String, HashMap<Slot, PresenceEntry>>,
    /// Entries across all users.
    total: usize,
    last_sweep: DateTime<Utc>,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                users: HashMap::new(),
                total: 0,
                last_sweep: Utc::now(),
            }),
            feed: PresenceFeed::default(),
        }
    }
}

/// Whether an entry is still worth showing at `now`.
fn live(e: &PresenceEntry, now: DateTime<Utc>) -> bool {
    let ttl = if e.state == PresenceState::Idle {
        IDLE_TTL
    } else {
        BUSY_TTL
    };
    now.signed_duration_since(e.since)
        .to_std()
        .map_or(true, |age| age < ttl)
}

impl Inner {
    /// Drops expired entries of every user (and users left with none); when still over
    /// [`MAX_TOTAL`], drops every idle entry: they are informational only.
    fn sweep(&mut self, now: DateTime<Utc>) {
        self.last_sweep = now;
        self.users.retain(|_, slots| {
            slots.retain(|_, e| live(e, now));
            !slots.is_empty()
        });
        self.total = self.users.values().map(HashMap::len).sum();
        if self.total >= MAX_TOTAL {
            self.users.retain(|_, slots| {
                slots.retain(|_, e| e.state != PresenceState::Idle);
                !slots.is_empty()
            });
            self.total = self.users.values().map(HashMap::len).sum();
        }
    }
}

impl Presence {
    /// Records a state change (keeps `since` when the state is unchanged).
    pub fn set(&self, user_id: &str, entry: PresenceEntry) {
        self.set_at(user_id, entry, Utc::now());
    }

    fn set_at(&self, user_id: &str, entry: PresenceEntry, now: DateTime<Utc>) {
        if self.store(user_id, entry.clone(), now) {
            self.feed.publish(user_id, &entry);
        }
    }

    /// Listens to `user_id`'s presence changes (each a new state of one agent slot).
    pub fn subscribe(&self, user_id: &str) -> PresenceSubscription {
        self.feed.subscribe(user_id)
    }

    /// Stores the entry; false when it changed nothing.
    fn store(&self, user_id: &str, entry: PresenceEntry, now: DateTime<Utc>) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let due = now
            .signed_duration_since(inner.last_sweep)
            .to_std()
            .is_ok_and(|d| d >= SWEEP_EVERY);
        if due || inner.total >= MAX_TOTAL {
            inner.sweep(now);
        }
        let slots = inner.users.entry(user_id.to_string()).or_default();
        let slot = (
            entry.agent_id.clone(),
            entry.surface.clone(),
            entry.surface_id.clone(),
        );
        let mut added = 0;
        match slots.get_mut(&slot) {
            Some(existing)
                if existing.state == entry.state && existing.session_id == entry.session_id =>
            {
                return false;
            }
            Some(existing) => *existing = entry,
            None => {
                if slots.len() >= MAX_SLOTS_PER_USER {
                    evict_one(slots);
                } else {
                    added = 1;
                }
                slots.insert(slot, entry);
            }
        }
        inner.total += added;
        true
    }

    /// The caller's agents, busiest first.
    pub fn list(&self, user_id: &str) -> Vec<PresenceEntry> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slots) = inner.users.get_mut(user_id) else {
            return Vec::new();
        };
        let now = Utc::now();
        let before = slots.len();
        slots.retain(|_, e| live(e, now));
        let mut list: Vec<PresenceEntry> = slots.values().cloned().collect();
        let removed = before - slots.len();
        if slots.is_empty() {
            inner.users.remove(user_id);
        }
        inner.total = inner.total.saturating_sub(removed);
        list.sort_by(|a, b| {
            (a.state == PresenceState::Idle)
                .cmp(&(b.state == PresenceState::Idle))
                .then(b.since.cmp(&a.since))
        });
        list
    }

    /// Number of agents currently busy across all users.
    pub fn busy_count(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .users
            .values()
            .flat_map(HashMap::values)
            .filter(|e| e.state != PresenceState::Idle)
            .count()
    }

    /// Entries held across all users.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// True when no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes the oldest idle slot, else the oldest slot of all.
fn evict_one(slots: &mut HashMap<Slot, PresenceEntry>) {
    let victim = slots
        .iter()
        .min_by_key(|(_, e)| (e.state != PresenceState::Idle, e.since))
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        slots.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(surface_id: &str, state: PresenceState, since: DateTime<Utc>) -> PresenceEntry {
        PresenceEntry {
            agent_id: "chad".into(),
            session_id: format!("ses_{surface_id}"),
            surface: "chat".into(),
            surface_id: surface_id.into(),
            state,
            since,
        }
    }

    #[test]
    fn one_user_cannot_grow_the_map_without_end() {
        let p = Presence::default();
        let now = Utc::now();
        p.set("u", entry("busy", PresenceState::Thinking, now));
        for i in 0..10_000 {
            p.set("u", entry(&format!("job_{i}"), PresenceState::Idle, now));
        }
        assert_eq!(p.len(), MAX_SLOTS_PER_USER);
        let list = p.list("u");
        assert_eq!(list.len(), MAX_SLOTS_PER_USER);
        // The busy slot survived the eviction of idle ones.
        assert_eq!(list[0].surface_id, "busy");
    }

    #[test]
    fn expired_entries_of_every_user_are_swept() {
        let p = Presence::default();
        let t0 = Utc::now();
        for u in 0..1_000 {
            p.set(&format!("u{u}"), entry("s", PresenceState::Idle, t0));
        }
        assert_eq!(p.len(), 1_000);
        let later = t0 + chrono::Duration::hours(2);
        p.set_at("fresh", entry("s", PresenceState::Idle, later), later);
        assert_eq!(p.len(), 1);
        assert_eq!(p.inner.lock().unwrap().users.len(), 1);
        // A busy entry left behind by a turn that never ended goes too, later.
        p.set_at("fresh", entry("t", PresenceState::Tool, later), later);
        let much_later = later + chrono::Duration::hours(7);
        p.set_at(
            "other",
            entry("s", PresenceState::Idle, much_later),
            much_later,
        );
        assert_eq!(p.len(), 1);
    }
}
