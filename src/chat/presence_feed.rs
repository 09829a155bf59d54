//! Live presence changes per user, for listeners that push them (the `/ws` channel).
//!
//! One broadcast channel per user that has a listener, made on the first subscription and
//! removed with the last one, so publishing for a user nobody listens to is one map lookup
//! and the map never holds users without listeners. A listener that falls behind skips the
//! changes it missed (presence is a current state, not a log).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::broadcast;

use super::presence::PresenceEntry;

/// Changes kept per user for listeners that have not read them yet.
const CHANGES_PER_USER: usize = 32;

type Senders = HashMap<String, broadcast::Sender<PresenceEntry>>;

/// The per-user channels of presence changes.
#[derive(Default)]
pub struct PresenceFeed {
    senders: Arc<Mutex<Senders>>,
}

impl PresenceFeed {
    /// Sends `entry` to `user_id`'s listeners, if any.
    pub fn publish(&self, user_id: &str, entry: &PresenceEntry) {
        let senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = senders.get(user_id) {
            // No receiver left is not an error: the last subscription is being dropped.
            let _ = tx.send(entry.clone());
        }
    }

    /// Listens to `user_id`'s presence changes until the subscription is dropped.
    pub fn subscribe(&self, user_id: &str) -> PresenceSubscription {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        let rx = senders
            .entry(user_id.to_string())
            .or_insert_with(|| broadcast::channel(CHANGES_PER_USER).0)
            .subscribe();
        PresenceSubscription {
            senders: Arc::clone(&self.senders),
            user_id: user_id.to_string(),
            rx: Some(rx),
        }
    }

    /// Users with at least one listener.
    pub fn listened_users(&self) -> usize {
        self.senders.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One listener of one user's presence changes.
pub struct PresenceSubscription {
    senders: Arc<Mutex<Senders>>,
    user_id: String,
    rx: Option<broadcast::Receiver<PresenceEntry>>,
}

impl PresenceSubscription {
    /// The next change; `None` never comes while the feed lives, so callers can select on it.
    pub async fn next(&mut self) -> Option<PresenceEntry> {
        let rx = self.rx.as_mut()?;
        loop {
            match rx.recv().await {
                Ok(entry) => return Some(entry),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

impl Drop for PresenceSubscription {
    fn drop(&mut self) {
        // The receiver goes first, so the count below no longer includes it.
        drop(self.rx.take());
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if senders
            .get(&self.user_id)
            .is_some_and(|tx| tx.receiver_count() == 0)
        {
            senders.remove(&self.user_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::presence::PresenceState;

    fn entry(state: PresenceState) -> PresenceEntry {
        PresenceEntry {
            agent_id: "chad".into(),
            session_id: "ses_1".into(),
            surface: "chat".into(),
            surface_id: "main".into(),
            state,
            since: chrono::Utc::now(),
        }
    }

    #[tokio::test]
    async fn listeners_get_their_users_changes_and_leave_no_channel_behind() {
        let feed = PresenceFeed::default();
        let mut a1 = feed.subscribe("a");
        let mut a2 = feed.subscribe("a");
        let b = feed.subscribe("b");
        assert_eq!(feed.listened_users(), 2);
        feed.publish("a", &entry(PresenceState::Thinking));
        feed.publish("nobody", &entry(PresenceState::Idle));
        assert_eq!(a1.next().await.unwrap().state, PresenceState::Thinking);
        assert_eq!(a2.next().await.unwrap().state, PresenceState::Thinking);
        drop(b);
        assert_eq!(feed.listened_users(), 1);
        drop(a1);
        assert_eq!(feed.listened_users(), 1);
        drop(a2);
        assert_eq!(feed.listened_users(), 0);
    }

    #[tokio::test]
    async fn a_slow_listener_skips_what_it_missed() {
        let feed = PresenceFeed::default();
        let mut sub = feed.subscribe("a");
        for _ in 0..CHANGES_PER_USER * 2 {
            feed.publish("a", &entry(PresenceState::Tool));
        }
        feed.publish("a", &entry(PresenceState::Idle));
        let mut last = None;
        for _ in 0..CHANGES_PER_USER {
            last = sub.next().await;
        }
        assert_eq!(last.unwrap().state, PresenceState::Idle);
    }
}
