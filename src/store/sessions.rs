//! Sessions and their messages.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use std::sync::Arc;

use super::{
    BeginWrite, Store,
    session_window::{Version, Window},
};
use crate::with_pool;

/// A stored session.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    /// `ses_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// Agent.
    pub agent_id: String,
    /// `chat|prop|group`.
    pub surface: String,
    /// Client-chosen sub-channel.
    pub surface_id: String,
    /// `active|archived`.
    pub status: String,
    /// Summary of messages up to `summary_until` (compaction).
    pub summary: Option<String>,
    /// Messages before this instant are represented by `summary`.
    pub summary_until: Option<DateTime<Utc>>,
    /// Messages stored.
    pub message_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last message.
    pub last_active_at: DateTime<Utc>,
    /// When archived.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A stored message.
#[derive(Debug, Clone, FromRow)]
pub struct MessageRow {
    /// `msg_…`
    pub id: String,
    /// Session.
    pub session_id: String,
    /// `user|assistant|tool|system`.
    pub role: String,
    /// Text.
    pub content: String,
    /// Assistant tool calls `[{id, name, arguments}]`.
    pub tool_calls: Option<Json<Value>>,
    /// For tool results: the call answered.
    pub tool_call_id: Option<String>,
    /// For tool results: the tool name.
    pub name: Option<String>,
    /// True when the turn was cut off (client gone, timeout, provider failure).
    pub incomplete: bool,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

/// A message of a window read with its session's count and compaction boundary (one snapshot).
#[derive(FromRow)]
struct WindowRow {
    #[sqlx(flatten)]
    m: MessageRow,
    session_count: i64,
    session_since: Option<DateTime<Utc>>,
}

/// The key that selects one conversation.
#[derive(Debug, Clone)]
pub struct SessionKey<'a> {
    /// User.
    pub user_id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// Agent.
    pub agent_id: &'a str,
    /// Surface.
    pub surface: &'a str,
    /// Surface id.
    pub surface_id: &'a str,
}

pub(super) const SESSION_COLUMNS: &str = "id, user_id, workspace_id, agent_id, surface, surface_id, status, summary, summary_until, message_count, created_at, last_active_at, archived_at";
const MESSAGE_COLUMNS: &str =
    "id, session_id, role, content, tool_calls, tool_call_id, name, incomplete, created_at";

/// Sessions, their messages, listing, search and handoff.
#[derive(Clone, Copy)]
pub struct Sessions<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The sessions aggregate.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions(self)
    }
}

impl Sessions<'_> {
    /// The active session for a key, if any.
    pub async fn active_session(
        self,
        key: &SessionKey<'_>,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND workspace_id = $2 AND agent_id = $3 \
             AND surface = $4 AND surface_id = $5 AND status = 'active' ORDER BY created_at DESC LIMIT 1"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(key.user_id).bind(key.workspace_id).bind(key.agent_id)
                .bind(key.surface).bind(key.surface_id)
                .fetch_optional(p).await
        })
    }

    /// A session by id.
    pub async fn session(self, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })
    }

    /// Inserts a new active session.
    pub async fn insert_session(self, s: &SessionRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO sessions (id, user_id, workspace_id, agent_id, surface, surface_id, status, message_count, created_at, last_active_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', 0, $7, $7)")
                .bind(&s.id).bind(&s.user_id).bind(&s.workspace_id).bind(&s.agent_id)
                .bind(&s.surface).bind(&s.surface_id).bind(s.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Archives every active session of a key; returns how many.
    pub async fn archive_sessions(
        self,
        key: &SessionKey<'_>,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        let ids: Vec<String> = with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("UPDATE sessions SET status = 'archived', archived_at = $6 WHERE user_id = $1 AND workspace_id = $2 AND agent_id = $3 AND surface = $4 AND surface_id = $5 AND status = 'active' RETURNING id")
                .bind(key.user_id).bind(key.workspace_id).bind(key.agent_id)
                .bind(key.surface).bind(key.surface_id).bind(now)
                .fetch_all(p).await
        })?;
        for id in &ids {
            self.0.cache.windows.forget(id);
        }
        Ok(ids.len() as u64)
    }

    /// Archives one session.
    pub async fn archive_session(self, id: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE sessions SET status = 'archived', archived_at = $2 WHERE id = $1 AND status = 'active'")
                .bind(id).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        self.0.cache.windows.forget(id);
        Ok(())
    }

    /// Appends messages and touches the session, in one transaction.
    pub async fn append_messages(
        self,
        session_id: &str,
        messages: &[MessageRow],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            for m in messages {
                sqlx::query("INSERT INTO messages (id, session_id, role, content, tool_calls, tool_call_id, name, incomplete, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&m.id).bind(&m.session_id).bind(&m.role).bind(&m.content)
                    .bind(&m.tool_calls).bind(&m.tool_call_id).bind(&m.name).bind(m.incomplete).bind(m.created_at)
                    .execute(&mut *tx).await?;
            }
            let count: i64 = sqlx::query_scalar("UPDATE sessions SET message_count = message_count + $2, last_active_at = $3 WHERE id = $1 RETURNING message_count")
                .bind(session_id).bind(messages.len() as i64).bind(now)
                .fetch_one(&mut *tx).await?;
            tx.commit().await?;
            // The count this write brought the session to: the cached window follows it
            // only when it was at the count before (no other writer in between).
            self.0.cache.windows.append_exact(session_id, count, messages);
            Ok(())
        })
    }

    /// The newest `limit` messages at or after `since`, oldest first, for the turn whose user
    /// message was written at `user_at`: from the window cache when it holds exactly that
    /// state, else read in one snapshot with the session's count and cached.
    pub async fn history_window(
        self,
        session_id: &str,
        since: Option<DateTime<Utc>>,
        limit: usize,
        user_at: DateTime<Utc>,
    ) -> Result<Window, sqlx::Error> {
        let windows = &self.0.cache.windows;
        if let Some(hit) = windows.hit(session_id, since, limit, user_at) {
            return Ok(hit);
        }
        let sql = format!(
            "SELECT m.*, s.message_count AS session_count, s.summary_until AS session_since FROM \
             (SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND ($2 IS NULL OR created_at >= $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3) m CROSS JOIN sessions s WHERE s.id = $1 ORDER BY m.created_at, m.id"
        );
        let found: Vec<WindowRow> = with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(session_id).bind(since).bind(limit as i64).fetch_all(p).await
        })?;
        let snapshot = found.first().map(|r| (r.session_count, r.session_since));
        let rows: Vec<Arc<MessageRow>> = found.into_iter().map(|r| Arc::new(r.m)).collect();
        // Cached only when the boundary read is the one asked for (a compaction elsewhere
        // may have moved it since the caller read the session).
        let version = match snapshot {
            Some((count, at)) if at == since => {
                windows.fill(session_id, count, since, limit, rows.clone())
            }
            _ => None,
        };
        Ok(Window { rows, version })
    }

    /// After a turn's record committed `rows`: extends the cached window the turn read from.
    pub fn remember_turn(self, session_id: &str, from: &Version, rows: &[MessageRow]) {
        self.0.cache.windows.append_turn(session_id, from, rows);
    }

    /// Drops the cached window of a session (tests and tools that write around the store).
    pub fn forget_window(self, session_id: &str) {
        self.0.cache.windows.forget(session_id);
    }

    /// Sessions and bytes held by the window cache.
    pub fn window_cache_size(self) -> (usize, usize) {
        self.0.cache.windows.size()
    }

    /// Messages of a session written at or after `since` (all when `None`), oldest first,
    /// at most the newest `limit`.
    pub async fn session_messages(
        self,
        session_id: &str,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM (SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 AND ($2 IS NULL OR created_at >= $2) \
             ORDER BY created_at DESC, id DESC LIMIT $3) recent ORDER BY created_at, id"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(session_id).bind(since).bind(limit).fetch_all(p).await
        })
    }

    /// Stores a compaction summary covering messages before `until`.
    pub async fn set_session_summary(
        self,
        session_id: &str,
        summary: &str,
        until: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE sessions SET summary = $2, summary_until = $3 WHERE id = $1")
                .bind(session_id).bind(summary).bind(until).execute(p).await.map(|r| r.rows_affected())
        })?;
        // The window starts at the boundary: it is refilled from the new one.
        self.0.cache.windows.forget(session_id);
        Ok(())
    }
}
