//! The hot-path cache of conversation windows: per session, the newest messages a turn sends
//! as history (those after the compaction boundary, at most the turn's limit), so a turn on a
//! session this replica served before reads no message rows.
//!
//! **Versioned by the session's `message_count`.** Every message write bumps the session's
//! `message_count` in the same transaction, so the count names a state of the conversation.
//! An entry holds the rows of one such state and its count, and only changes:
//! - by a **fill**: one statement reads the rows *and* the count (one snapshot on both engines);
//! - by an **exact append** after a commit that returned the new count (`RETURNING`): applied
//!   only when the entry's count is the count before that write, else the entry is dropped;
//! - by a **turn append** after a turn's record committed, applied only when the entry is still
//!   the [`Version`] the turn read its history from (the entry then undercounts if another
//!   writer slipped in, and the next exact append drops it);
//! - by **forgetting** it: archive (reset), handoff, compaction, and the LRU bounds.
//!
//! A turn uses an entry only when its last row is that turn's own user message, put there by
//! an exact append: the count the database returned for that very write matched, so no message
//! of another replica (or of a write that bypassed the cache) can be missing. This needs no
//! cluster notice: a change made on another replica shows as a count the entry does not have.
//!
//! Bounded by sessions and by bytes, least recently used out first.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};

use super::MessageRow;

/// Most sessions kept.
pub const MAX_SESSIONS: usize = 4_096;
/// Most bytes of message text (and ids, tool calls) kept, over all sessions.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Bookkeeping bytes counted per row besides its text.
const ROW_OVERHEAD: usize = 160;

/// The state of one cached window a turn read: appends after the turn must start from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    count: i64,
    last_id: String,
}

/// A window as a turn reads it: rows oldest first, and its version when cached.
pub struct Window {
    /// The messages, oldest first.
    pub rows: Vec<Arc<MessageRow>>,
    /// The cached state they came from (`None` when they were not cached).
    pub version: Option<Version>,
}

struct Entry {
    count: i64,
    since: Option<DateTime<Utc>>,
    limit: usize,
    rows: Vec<Arc<MessageRow>>,
    bytes: usize,
    tick: u64,
}

impl Entry {
    fn version(&self) -> Option<Version> {
        self.rows.last().map(|r| Version {
            count: self.count,
            last_id: r.id.clone(),
        })
    }
}

struct Inner {
    map: HashMap<String, Entry>,
    /// tick → session id, oldest use first.
    lru: BTreeMap<u64, String>,
    tick: u64,
    bytes: usize,
}

/// The per-session window cache of one store.
pub struct SessionWindows {
    inner: Mutex<Inner>,
    max_sessions: usize,
    max_bytes: usize,
}

impl Default for SessionWindows {
    fn default() -> Self {
        Self::with_bounds(MAX_SESSIONS, MAX_BYTES)
    }
}

fn row_bytes(r: &MessageRow) -> usize {
    ROW_OVERHEAD
        + r.id.len()
        + r.session_id.len()
        + r.content.len()
        + r.tool_calls.as_ref().map_or(0, |j| j.0.to_string().len())
        + r.tool_call_id.as_ref().map_or(0, String::len)
        + r.name.as_ref().map_or(0, String::len)
}

impl SessionWindows {
    /// An empty cache holding at most `max_sessions` windows and `max_bytes`.
    pub fn with_bounds(max_sessions: usize, max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                lru: BTreeMap::new(),
                tick: 0,
                bytes: 0,
            }),
            max_sessions,
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The window of `session` when its last row is the user message written at `user_at`
    /// (by an exact append), for the same compaction boundary and limit.
    pub fn hit(
        &self,
        session: &str,
        since: Option<DateTime<Utc>>,
        limit: usize,
        user_at: DateTime<Utc>,
    ) -> Option<Window> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.map.get_mut(session)?;
        let last = e.rows.last()?;
        if e.since != since || e.limit != limit || last.role != "user" || last.created_at != user_at
        {
            return None;
        }
        inner.lru.remove(&e.tick);
        e.tick = tick;
        inner.lru.insert(tick, session.to_owned());
        Some(Window {
            rows: e.rows.clone(),
            version: e.version(),
        })
    }

    /// Caches the window read in one snapshot whose session count was `count`; returns its
    /// version.
    pub fn fill(
        &self,
        session: &str,
        count: i64,
        since: Option<DateTime<Utc>>,
        limit: usize,
        rows: Vec<Arc<MessageRow>>,
    ) -> Option<Version> {
        let bytes = rows.iter().map(|r| row_bytes(r)).sum();
        let mut inner = self.lock();
        Self::remove(&mut inner, session);
        inner.tick += 1;
        let tick = inner.tick;
        let entry = Entry {
            count,
            since,
            limit,
            rows,
            bytes,
            tick,
        };
        let version = entry.version();
        inner.bytes += bytes;
        inner.lru.insert(tick, session.to_owned());
        inner.map.insert(session.to_owned(), entry);
        self.evict(&mut inner);
        // A window larger than the whole budget was evicted at once.
        inner.map.contains_key(session).then_some(version).flatten()
    }

    /// After a commit that brought the session's count to `count` with `rows`: extends the
    /// window when it was at `count - rows.len()`, else drops it.
    pub fn append_exact(&self, session: &str, count: i64, rows: &[MessageRow]) {
        let mut inner = self.lock();
        let Some(e) = inner.map.get(session) else {
            return;
        };
        if e.count + rows.len() as i64 != count {
            Self::remove(&mut inner, session);
            return;
        }
        self.push(&mut inner, session, count, rows);
    }

    /// After a turn's record committed `rows`: extends the window when it is still `from`
    /// (the state the turn read), else drops it.
    pub fn append_turn(&self, session: &str, from: &Version, rows: &[MessageRow]) {
        let mut inner = self.lock();
        let Some(e) = inner.map.get(session) else {
            return;
        };
        if e.version().as_ref() != Some(from) {
            Self::remove(&mut inner, session);
            return;
        }
        let count = from.count + rows.len() as i64;
        self.push(&mut inner, session, count, rows);
    }

    /// Drops a session's window.
    pub fn forget(&self, session: &str) {
        Self::remove(&mut self.lock(), session);
    }

    /// Drops every window.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.map.clear();
        inner.lru.clear();
        inner.bytes = 0;
    }

    /// Sessions and bytes held.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.map.len(), inner.bytes)
    }

    fn push(&self, inner: &mut Inner, session: &str, count: i64, rows: &[MessageRow]) {
        inner.tick += 1;
        let tick = inner.tick;
        let Some(e) = inner.map.get_mut(session) else {
            return;
        };
        let mut added = 0;
        let mut sorted: Vec<&MessageRow> = rows.iter().collect();
        // The order the database returns them in.
        sorted.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        for r in sorted {
            added += row_bytes(r);
            e.rows.push(Arc::new(r.clone()));
        }
        let mut removed = 0;
        if e.rows.len() > e.limit {
            let extra = e.rows.len() - e.limit;
            removed = e.rows.drain(..extra).map(|r| row_bytes(&r)).sum();
        }
        e.count = count;
        e.bytes = e.bytes + added - removed;
        let old_tick = std::mem::replace(&mut e.tick, tick);
        inner.bytes = inner.bytes + added - removed;
        inner.lru.remove(&old_tick);
        inner.lru.insert(tick, session.to_owned());
        self.evict(inner);
    }

    fn remove(inner: &mut Inner, session: &str) {
        if let Some(e) = inner.map.remove(session) {
            inner.lru.remove(&e.tick);
            inner.bytes -= e.bytes;
        }
    }

    fn evict(&self, inner: &mut Inner) {
        while inner.map.len() > self.max_sessions || inner.bytes > self.max_bytes {
            let Some((_, oldest)) = inner.lru.pop_first() else {
                break;
            };
            if let Some(e) = inner.map.remove(&oldest) {
                inner.bytes -= e.bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn row(id: &str, role: &str, at: DateTime<Utc>, text: &str) -> MessageRow {
        MessageRow {
            id: id.into(),
            session_id: "s".into(),
            role: role.into(),
            content: text.into(),
            tool_calls: None,
            tool_call_id: None,
            name: None,
            incomplete: false,
            created_at: at,
        }
    }

    #[test]
    fn exact_appends_keep_the_window_and_a_gap_drops_it() {
        let c = SessionWindows::default();
        let t0 = Utc::now();
        let v = c
            .fill(
                "s",
                2,
                None,
                200,
                vec![Arc::new(row("m1", "user", t0, "a"))],
            )
            .expect("cached");
        assert!(c.hit("s", None, 200, t0).is_some());
        // The turn's user message, the count returned by its commit: 3.
        let t1 = t0 + Duration::seconds(1);
        c.append_exact("s", 3, &[row("m2", "user", t1, "b")]);
        let w = c
            .hit("s", None, 200, t1)
            .expect("hit after the exact append");
        assert_eq!(w.rows.len(), 2);
        // Not the same compaction boundary or limit: no hit.
        assert!(c.hit("s", Some(t0), 200, t1).is_none());
        assert!(c.hit("s", None, 100, t1).is_none());
        // The turn appends its reply from the version it read.
        let from = w.version.expect("version");
        c.append_turn("s", &from, &[row("m3", "assistant", t1, "c")]);
        // Another writer (another replica) added a message: the commit returned 6, the
        // window is at 4 and the write had one row.
        c.append_exact("s", 6, &[row("m5", "user", t1, "e")]);
        assert_eq!(c.size().0, 0, "a count gap drops the window");
        // A stale version does not append.
        c.fill(
            "s",
            9,
            None,
            200,
            vec![Arc::new(row("m9", "user", t1, "x"))],
        );
        c.append_turn("s", &v, &[row("m10", "assistant", t1, "y")]);
        assert_eq!(c.size().0, 0);
    }

    #[test]
    fn bounded_by_sessions_and_bytes() {
        let c = SessionWindows::with_bounds(3, 10_000);
        let t = Utc::now();
        for i in 0..5 {
            c.fill(
                &format!("s{i}"),
                1,
                None,
                200,
                vec![Arc::new(row("m", "user", t, "x"))],
            );
        }
        assert_eq!(c.size().0, 3);
        // The least recently used went first.
        assert!(c.hit("s0", None, 200, t).is_none());
        assert!(c.hit("s4", None, 200, t).is_some());
        let big = "y".repeat(4_000);
        c.fill(
            "b1",
            1,
            None,
            200,
            vec![Arc::new(row("m", "user", t, &big))],
        );
        c.fill(
            "b2",
            1,
            None,
            200,
            vec![Arc::new(row("m", "user", t, &big))],
        );
        c.fill(
            "b3",
            1,
            None,
            200,
            vec![Arc::new(row("m", "user", t, &big))],
        );
        let (n, bytes) = c.size();
        assert!(bytes <= 10_000, "{bytes}");
        assert!(n <= 3);
        // A window over the whole budget is not kept.
        let huge = "z".repeat(20_000);
        assert!(
            c.fill(
                "h",
                1,
                None,
                200,
                vec![Arc::new(row("m", "user", t, &huge))]
            )
            .is_none()
        );
    }

    #[test]
    fn the_window_keeps_the_newest_rows_up_to_its_limit() {
        let c = SessionWindows::default();
        let t = Utc::now();
        c.fill("s", 1, None, 2, vec![Arc::new(row("m1", "user", t, "a"))]);
        let t2 = t + Duration::seconds(1);
        c.append_exact(
            "s",
            3,
            &[row("m3", "user", t2, "c"), row("m2", "assistant", t, "b")],
        );
        let w = c.hit("s", None, 2, t2).expect("hit");
        let ids: Vec<&str> = w.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["m2", "m3"]);
    }
}
