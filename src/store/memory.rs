//! Memory of a user in a workspace: the long-term profile, daily entries, notes, and the
//! full-text search over the chunk table that triggers keep in step with them (and with session
//! messages). Search is the one dialect-specific query: FTS5 `bm25()` on SQLite, `tsvector` +
//! `ts_rank_cd` on PostgreSQL.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, Pool, Store, ids::new_id};
use crate::with_pool;

/// A daily entry or a note.
#[derive(Debug, Clone, FromRow)]
pub struct MemoryEntryRow {
    /// `mem_…`
    pub id: String,
    /// `daily` or `note`.
    pub tier: String,
    /// UTC day of creation, `YYYY-MM-DD`.
    pub day: String,
    /// Stable index in its scope (the day for daily entries, the user for notes).
    pub idx: i64,
    /// Text.
    pub content: String,
    /// Who wrote it: `chat` (extraction), `api`, `tool`.
    pub source: String,
    /// Tags (notes).
    pub tags: Json<Vec<String>>,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

/// A new daily entry or note; its index is assigned on insert.
#[derive(Debug, Clone)]
pub struct NewMemoryEntry<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// `daily` or `note`.
    pub tier: &'a str,
    /// Text.
    pub content: &'a str,
    /// `chat`, `api` or `tool`.
    pub source: &'a str,
    /// Tags.
    pub tags: &'a [String],
    /// Creation time; its UTC day is the entry's day.
    pub created_at: DateTime<Utc>,
}

/// One full-text match.
#[derive(Debug, Clone, FromRow)]
pub struct ChunkHit {
    /// The chunk.
    pub id: i64,
    /// `profile`, `daily`, `note` or `session`.
    pub tier: String,
    /// Matched text.
    pub content: String,
    /// Day of a daily entry.
    pub day: Option<String>,
    /// Index of a daily entry or note.
    pub idx: Option<i64>,
    /// Session of a session message.
    pub session_id: Option<String>,
    /// When the source was written.
    pub created_at: DateTime<Utc>,
    /// Engine-specific relevance, larger is better.
    pub rank: f64,
}

/// What to search for and where.
#[derive(Debug, Clone)]
pub struct ChunkSearch<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// Search terms: plain words (letters and digits only), matched with OR.
    pub terms: &'a [String],
    /// Tiers searched: `[profile, daily, note, session]`.
    pub tiers: [bool; 4],
    /// Daily entries and session messages older than this are left out.
    pub not_before: Option<DateTime<Utc>>,
    /// Messages of this session are left out (they are in the context already).
    pub exclude_session: Option<&'a str>,
    /// Most hits.
    pub limit: i64,
}

const ENTRY_COLUMNS: &str = "id, tier, day, idx, content, source, tags, created_at";

const SEARCH_FILTER: &str = "c.user_id = $1 AND c.workspace_id = $2 \
     AND (($4 AND c.tier = 'profile') OR ($5 AND c.tier = 'daily') OR ($6 AND c.tier = 'note') OR ($7 AND c.tier = 'session')) \
     AND ($8 IS NULL OR c.tier NOT IN ('daily', 'session') OR c.created_at >= $8) \
     AND ($9 IS NULL OR c.session_id IS NULL OR c.session_id <> $9)";

/// Memory of a user in a workspace: profile, entries, notes and chunks.
#[derive(Clone, Copy)]
pub struct Memory<'a>(pub(in crate::store) &'a Store);

/// Takes the next index of a scope (a per-scope counter: indices are never reused).
const NEXT_INDEX: &str = "INSERT INTO memory_counters (user_id, workspace_id, scope, next_index) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (user_id, workspace_id, scope) DO UPDATE SET next_index = memory_counters.next_index + 1 \
     RETURNING next_index - 1";

/// Inserts one daily entry or note.
const INSERT_ENTRY: &str = "INSERT INTO memory_entries (id, user_id, workspace_id, tier, day, idx, content, source, tags, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

impl Store {
    /// The memory aggregate.
    pub fn memory(&self) -> Memory<'_> {
        Memory(self)
    }
}

impl Memory<'_> {
    /// The stored profile and when it changed, if any.
    pub async fn user_profile(
        self,
        user_id: &str,
        workspace_id: &str,
    ) -> Result<Option<(Json<Value>, DateTime<Utc>)>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT profile, updated_at FROM memory_user_profiles WHERE user_id = $1 AND workspace_id = $2")
                .bind(user_id).bind(workspace_id).fetch_optional(p).await
        })
    }

    /// Replaces the profile.
    pub async fn put_user_profile(
        self,
        user_id: &str,
        workspace_id: &str,
        profile: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO memory_user_profiles (user_id, workspace_id, profile, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id, workspace_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at")
                .bind(user_id).bind(workspace_id).bind(Json(profile)).bind(now)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Reads, edits and writes the profile under a row lock, so concurrent edits of different
    /// keys both survive. `edit` may refuse (its message is returned and nothing is written).
    pub async fn edit_user_profile<F>(
        self,
        user_id: &str,
        workspace_id: &str,
        now: DateTime<Utc>,
        edit: F,
    ) -> Result<Result<Map<String, Value>, String>, sqlx::Error>
    where
        F: FnOnce(Map<String, Value>) -> Result<Map<String, Value>, String>,
    {
        // The insert makes sure there is a row for PostgreSQL's `FOR UPDATE` to lock; SQLite
        // holds its write lock from `BEGIN IMMEDIATE` on.
        let select = match &self.0.pool {
            Pool::Sqlite(_) => {
                "SELECT profile FROM memory_user_profiles WHERE user_id = $1 AND workspace_id = $2"
            }
            Pool::Postgres(_) => {
                "SELECT profile FROM memory_user_profiles WHERE user_id = $1 AND workspace_id = $2 FOR UPDATE"
            }
        };
        let empty = Json(Map::new());
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO memory_user_profiles (user_id, workspace_id, profile, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id, workspace_id) DO NOTHING")
                .bind(user_id).bind(workspace_id).bind(&empty).bind(now)
                .execute(&mut *tx).await?;
            let (Json(current),): (Json<Map<String, Value>>,) = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .bind(user_id).bind(workspace_id).fetch_one(&mut *tx).await?;
            let edited = match edit(current) {
                Ok(edited) => edited,
                Err(problem) => return Ok(Err(problem)),
            };
            sqlx::query("UPDATE memory_user_profiles SET profile = $3, updated_at = $4 WHERE user_id = $1 AND workspace_id = $2")
                .bind(user_id).bind(workspace_id).bind(Json(&edited)).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Ok(edited))
        })
    }

    /// Inserts a daily entry or note with the next index of its scope (never reused).
    pub async fn add_memory_entry(
        self,
        e: &NewMemoryEntry<'_>,
    ) -> Result<MemoryEntryRow, sqlx::Error> {
        let day = e.created_at.format("%Y-%m-%d").to_string();
        let scope = if e.tier == "daily" {
            format!("daily:{day}")
        } else {
            e.tier.to_string()
        };
        let row = MemoryEntryRow {
            id: new_id("mem"),
            tier: e.tier.to_string(),
            day,
            idx: 0,
            content: e.content.to_string(),
            source: e.source.to_string(),
            tags: Json(e.tags.to_vec()),
            created_at: e.created_at,
        };
        let idx: i64 = with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let idx: i64 = sqlx::query_scalar(NEXT_INDEX)
                .bind(e.user_id).bind(e.workspace_id).bind(&scope)
                .fetch_one(&mut *tx).await?;
            sqlx::query(INSERT_ENTRY)
                .bind(&row.id).bind(e.user_id).bind(e.workspace_id).bind(&row.tier).bind(&row.day)
                .bind(idx).bind(&row.content).bind(&row.source).bind(&row.tags).bind(row.created_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(idx)
        })?;
        Ok(MemoryEntryRow { idx, ..row })
    }

    /// Adds many entries in one transaction (bulk import and the search bench), each
    /// numbered as [`Self::add_memory_entry`] would; answers how many were added.
    pub async fn add_memory_entries(
        self,
        entries: &[NewMemoryEntry<'_>],
    ) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            for e in entries {
                let day = e.created_at.format("%Y-%m-%d").to_string();
                let scope = if e.tier == "daily" { format!("daily:{day}") } else { e.tier.to_string() };
                let idx: i64 = sqlx::query_scalar(NEXT_INDEX)
                    .bind(e.user_id).bind(e.workspace_id).bind(&scope)
                    .fetch_one(&mut *tx).await?;
                sqlx::query(INSERT_ENTRY)
                    .bind(new_id("mem")).bind(e.user_id).bind(e.workspace_id).bind(e.tier).bind(&day)
                    .bind(idx).bind(e.content).bind(e.source).bind(Json(e.tags.to_vec())).bind(e.created_at)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(entries.len() as u64)
        })
    }

    /// Daily entries of the days from `first_day` (inclusive, `YYYY-MM-DD`) on, newest day
    /// first, each day in index order.
    pub async fn daily_entries_since(
        self,
        user_id: &str,
        workspace_id: &str,
        first_day: &str,
    ) -> Result<Vec<MemoryEntryRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM memory_entries WHERE user_id = $1 AND workspace_id = $2 \
             AND tier = 'daily' AND day >= $3 ORDER BY day DESC, idx"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(workspace_id).bind(first_day).fetch_all(p).await
        })
    }

    /// Daily entries of one day, in index order.
    pub async fn daily_entries_on(
        self,
        user_id: &str,
        workspace_id: &str,
        day: &str,
    ) -> Result<Vec<MemoryEntryRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM memory_entries WHERE user_id = $1 AND workspace_id = $2 \
             AND tier = 'daily' AND day = $3 ORDER BY idx"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(workspace_id).bind(day).fetch_all(p).await
        })
    }

    /// Notes, newest first, paginated; plus the total.
    pub async fn memory_notes(
        self,
        user_id: &str,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<MemoryEntryRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM memory_entries WHERE user_id = $1 AND workspace_id = $2 \
             AND tier = 'note' ORDER BY idx DESC LIMIT $3 OFFSET $4"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM memory_entries WHERE user_id = $1 AND workspace_id = $2 AND tier = 'note'")
                .bind(user_id).bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Deletes a daily entry (`day` given) or a note (`day` = `None`); false when absent.
    pub async fn delete_memory_entry(
        self,
        user_id: &str,
        workspace_id: &str,
        day: Option<&str>,
        idx: i64,
    ) -> Result<bool, sqlx::Error> {
        let tier = if day.is_some() { "daily" } else { "note" };
        let done = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM memory_entries WHERE user_id = $1 AND workspace_id = $2 AND tier = $3 \
                         AND ($4 IS NULL OR day = $4) AND idx = $5")
                .bind(user_id).bind(workspace_id).bind(tier).bind(day).bind(idx)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// The newest daily entries and notes of one user in one workspace (`tiers` =
    /// `[daily, note]`), for a turn's bounded context search.
    pub async fn recent_memory_chunks(
        self,
        user_id: &str,
        workspace_id: &str,
        tiers: [bool; 2],
        not_before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<ChunkHit>, sqlx::Error> {
        let sql = "SELECT c.id, c.tier, c.content, c.day, c.idx, c.session_id, c.created_at, CAST(0 AS DOUBLE PRECISION) AS rank \
                   FROM memory_chunks c WHERE c.user_id = $1 AND c.workspace_id = $2 \
                   AND (($3 AND c.tier = 'daily') OR ($4 AND c.tier = 'note')) \
                   AND ($5 IS NULL OR c.tier <> 'daily' OR c.created_at >= $5) \
                   ORDER BY c.created_at DESC LIMIT $6";
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sql)
                .bind(user_id).bind(workspace_id).bind(tiers[0]).bind(tiers[1])
                .bind(not_before).bind(limit)
                .fetch_all(p).await
        })
    }

    /// Full-text search over the chunks of one user in one workspace, best first.
    pub async fn search_memory_chunks(
        self,
        s: &ChunkSearch<'_>,
    ) -> Result<Vec<ChunkHit>, sqlx::Error> {
        if s.terms.is_empty() {
            return Ok(Vec::new());
        }
        let (sql, query) = match &self.0.pool {
            // Each term is quoted, so FTS5 reads it as a plain word whatever the user typed.
            // `CROSS JOIN` pins the full-text index as the outer loop: SQLite may otherwise walk
            // the user's chunks and run the MATCH once per chunk.
            Pool::Sqlite(_) => (
                format!(
                    "SELECT c.id, c.tier, c.content, c.day, c.idx, c.session_id, c.created_at, -bm25(memory_chunks_fts) AS rank \
                     FROM memory_chunks_fts CROSS JOIN memory_chunks c ON c.id = memory_chunks_fts.rowid \
                     WHERE memory_chunks_fts MATCH $3 AND {SEARCH_FILTER} \
                     ORDER BY rank DESC, c.created_at DESC LIMIT $10"
                ),
                s.terms
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            ),
            Pool::Postgres(_) => (
                format!(
                    "SELECT c.id, c.tier, c.content, c.day, c.idx, c.session_id, c.created_at, ts_rank_cd(c.tsv, q, 1)::float8 AS rank \
                     FROM memory_chunks c, to_tsquery('english', $3) q \
                     WHERE c.tsv @@ q AND {SEARCH_FILTER} \
                     ORDER BY rank DESC, c.created_at DESC LIMIT $10"
                ),
                s.terms.join(" | "),
            ),
        };
        let [profile, daily, note, session] = s.tiers;
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(s.user_id).bind(s.workspace_id).bind(&query)
                .bind(profile).bind(daily).bind(note).bind(session)
                .bind(s.not_before).bind(s.exclude_session).bind(s.limit)
                .fetch_all(p).await
        })
    }

    /// For each workspace with agents: the longest memory TTL among them, or `None` when one
    /// of them keeps memory forever (no profile, or a profile without `ttlDays`).
    pub async fn workspace_memory_ttls(self) -> Result<Vec<(String, Option<i64>)>, sqlx::Error> {
        let rows: Vec<(String, Option<i64>)> = with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT a.workspace_id, mp.ttl_days FROM agents a \
                            LEFT JOIN memory_profiles mp ON mp.id = a.memory_profile_id ORDER BY a.workspace_id")
                .fetch_all(p).await
        })?;
        let mut out: Vec<(String, Option<i64>)> = Vec::new();
        for (ws, ttl) in rows {
            match out.last_mut() {
                Some((last, acc)) if *last == ws => {
                    *acc = match (*acc, ttl) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    }
                }
                _ => out.push((ws, ttl)),
            }
        }
        Ok(out)
    }

    /// Deletes a workspace's daily entries written before `cutoff`; returns how many.
    pub async fn prune_daily_entries(
        self,
        workspace_id: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM memory_entries WHERE workspace_id = $1 AND tier = 'daily' AND created_at < $2")
                .bind(workspace_id).bind(cutoff).execute(p).await.map(|r| r.rows_affected())
        })
    }

    /// Forgets the index counters of days before `first_day`: entries are only ever added to
    /// the current day, so those counters can no longer hand out an index.
    pub async fn prune_daily_counters(self, first_day: &str) -> Result<u64, sqlx::Error> {
        let scope = format!("daily:{first_day}");
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM memory_counters WHERE scope LIKE 'daily:%' AND scope < $1")
                .bind(&scope).execute(p).await.map(|r| r.rows_affected())
        })
    }

    /// The text of the user message that opened a turn: the newest user message of the
    /// session written at or before `at`.
    pub async fn turn_user_message(
        self,
        session_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT content FROM messages WHERE session_id = $1 AND role = 'user' AND created_at <= $2 \
                                ORDER BY created_at DESC, id DESC LIMIT 1")
                .bind(session_id).bind(at).fetch_optional(p).await
        })
    }
}
