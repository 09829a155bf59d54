//! Live agent presence per user: what each of the caller's agents is doing right now.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use serde::Serialize;

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

type Slot = (String, String, String);

/// Presence of every user's agents, in process.
#[derive(Default)]
pub struct Presence {
    users: Mutex<HashMap<String, HashMap<Slot, PresenceEntry>>>,
}

impl Presence {
    /// Records a state change (keeps `since` when the state is unchanged).
    pub fn set(&self, user_id: &str, entry: PresenceEntry) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let slots = users.entry(user_id.to_string()).or_default();
        let slot = (
            entry.agent_id.clone(),
            entry.surface.clone(),
            entry.surface_id.clone(),
        );
        match slots.get_mut(&slot) {
            Some(existing)
                if existing.state == entry.state && existing.session_id == entry.session_id => {}
            _ => {
                slots.insert(slot, entry);
            }
        }
    }

    /// The caller's agents, busiest first.
    pub fn list(&self, user_id: &str) -> Vec<PresenceEntry> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slots) = users.get_mut(user_id) else {
            return Vec::new();
        };
        let cutoff = Utc::now() - IDLE_TTL;
        slots.retain(|_, e| e.state != PresenceState::Idle || e.since > cutoff);
        let mut list: Vec<PresenceEntry> = slots.values().cloned().collect();
        list.sort_by(|a, b| {
            (a.state == PresenceState::Idle)
                .cmp(&(b.state == PresenceState::Idle))
                .then(b.since.cmp(&a.since))
        });
        list
    }

    /// Number of agents currently busy across all users.
    pub fn busy_count(&self) -> usize {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .values()
            .flat_map(HashMap::values)
            .filter(|e| e.state != PresenceState::Idle)
            .count()
    }
}
