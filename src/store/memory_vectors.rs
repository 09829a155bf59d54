//! The vector index of memory: one embedding per chunk (little-endian `f32` bytes with their
//! dimension and embedder id) and the queue of chunks waiting to be embedded, which a trigger
//! fills on every new chunk. The same SQL on both engines; ranking happens in Rust.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{
    BeginWrite, Store, UsageRow,
    turn_batch::{MAX_BINDS, values_sql},
};
use crate::with_pool;

/// The insert of one embedding usage row (the same columns as a turn's usage).
const INSERT_USAGE: &str = "INSERT INTO usage_records (id, user_id, workspace_id, agent_id, session_id, provider, \
     model, prompt_tokens, completion_tokens, cached_tokens, cost_usd, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// A queued chunk to embed, with the settings of its workspace (which choose the embedder).
#[derive(Debug, Clone, FromRow)]
pub struct EmbedJob {
    /// The chunk.
    pub chunk_id: i64,
    /// Owner.
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// Text to embed.
    pub content: String,
    /// The workspace's settings object.
    pub settings: Json<Value>,
}

/// An embedding to store.
#[derive(Debug, Clone)]
pub struct NewVector<'a> {
    /// The chunk.
    pub chunk_id: i64,
    /// Owner.
    pub user_id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// Id of the embedder that wrote it.
    pub embedder: &'a str,
    /// Dimension.
    pub dim: i32,
    /// `dim` little-endian `f32`s.
    pub bytes: Vec<u8>,
}

/// A stored vector with the chunk it belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct VectorRow {
    /// The chunk.
    pub id: i64,
    /// `profile`, `daily`, `note` or `session`.
    pub tier: String,
    /// Text.
    pub content: String,
    /// Day of a daily entry.
    pub day: Option<String>,
    /// Index of a daily entry or note.
    pub idx: Option<i64>,
    /// Session of a session message.
    pub session_id: Option<String>,
    /// When the source was written.
    pub created_at: DateTime<Utc>,
    /// Dimension.
    pub dim: i32,
    /// Little-endian `f32`s.
    pub vec: Vec<u8>,
}

/// Which vectors a scan reads: one user in one workspace, one embedder, the searched tiers.
#[derive(Debug, Clone)]
pub struct VectorScan<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// Workspace.
    pub workspace_id: &'a str,
    /// Embedder id (vectors of another embedder are ignored until re-embedded).
    pub embedder: &'a str,
    /// `[profile, daily, note, session]`.
    pub tiers: [bool; 4],
    /// Daily entries and session messages older than this are left out.
    pub not_before: Option<DateTime<Utc>>,
    /// Messages of this session are left out.
    pub exclude_session: Option<&'a str>,
    /// Most rows read (newest chunks first): the bound of the scan.
    pub limit: i64,
}

/// The vector index.
#[derive(Clone, Copy)]
pub struct MemoryVectors<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The vector index of memory.
    pub fn memory_vectors(&self) -> MemoryVectors<'_> {
        MemoryVectors(self)
    }
}

impl MemoryVectors<'_> {
    /// The oldest queued chunks (at most `limit`), with their text and workspace settings.
    pub async fn queued(self, limit: i64) -> Result<Vec<EmbedJob>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT q.chunk_id, c.user_id, c.workspace_id, c.content, w.settings \
                            FROM memory_embed_queue q JOIN memory_chunks c ON c.id = q.chunk_id \
                            JOIN workspaces w ON w.id = c.workspace_id ORDER BY q.chunk_id LIMIT $1")
                .bind(limit).fetch_all(p).await
        })
    }

    /// Stores the vectors (replacing older ones of the same chunks), takes their chunks off
    /// the queue and records the usage the embedding was billed, in one transaction (a
    /// search's query embedding records its usage alone, with no vectors).
    pub async fn store(
        self,
        vectors: &[NewVector<'_>],
        usage: &[UsageRow],
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        if vectors.is_empty() && usage.is_empty() {
            return Ok(());
        }
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            for u in usage {
                sqlx::query(INSERT_USAGE)
                    .bind(&u.id).bind(&u.user_id).bind(&u.workspace_id).bind(&u.agent_id).bind(&u.session_id)
                    .bind(&u.provider).bind(&u.model).bind(u.prompt_tokens).bind(u.completion_tokens)
                    .bind(u.cached_tokens).bind(u.cost_usd).bind(u.created_at)
                    .execute(&mut *tx).await?;
            }
            // A round's vectors in one multi-row upsert and one queue delete (chunk ids are
            // distinct: they come from the queue's primary key).
            for chunk in vectors.chunks(MAX_BINDS / 7) {
                let sql = values_sql("INSERT INTO memory_vectors (chunk_id, user_id, workspace_id, embedder, dim, vec, created_at) VALUES", 7, chunk.len())
                    + " ON CONFLICT (chunk_id) DO UPDATE SET embedder = excluded.embedder, dim = excluded.dim, \
                       vec = excluded.vec, created_at = excluded.created_at";
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for v in chunk {
                    q = q.bind(v.chunk_id).bind(v.user_id).bind(v.workspace_id).bind(v.embedder)
                        .bind(v.dim).bind(&v.bytes).bind(now);
                }
                q.execute(&mut *tx).await?;
                let ids: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!("DELETE FROM memory_embed_queue WHERE chunk_id IN ({})", ids.join(", "));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for v in chunk {
                    q = q.bind(v.chunk_id);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await
        })
    }

    /// Each workspace with stored vectors and the embedder ids of those vectors (read once at
    /// start-up, to find workspaces whose embedder changed while the server was down).
    pub async fn embedders_in_use(self) -> Result<Vec<(String, String)>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT DISTINCT workspace_id, embedder FROM memory_vectors ORDER BY workspace_id, embedder")
                .fetch_all(p).await
        })
    }

    /// Puts every chunk of a workspace back on the queue (its embedder changed).
    pub async fn requeue_workspace(
        self,
        workspace_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO memory_embed_queue (chunk_id, queued_at) \
                         SELECT id, $2 FROM memory_chunks WHERE workspace_id = $1 ON CONFLICT (chunk_id) DO NOTHING")
                .bind(workspace_id).bind(now).execute(p).await.map(|r| r.rows_affected())
        })
    }

    /// The pgvector extension on this server: `Some("installed")` (created in this database),
    /// `Some("available")` (listed by `pg_available_extensions`, not created) or
    /// `Some("absent")` on PostgreSQL; `None` on SQLite. Reported, never used: vectors are
    /// always ranked in Rust.
    pub async fn vector_extension(self) -> Result<Option<&'static str>, sqlx::Error> {
        let super::Pool::Postgres(p) = &self.0.pool else {
            return Ok(None);
        };
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT installed_version FROM pg_available_extensions WHERE name = 'vector'",
        )
        .fetch_optional(p)
        .await?;
        Ok(Some(match row {
            Some((Some(_),)) => "installed",
            Some((None,)) => "available",
            None => "absent",
        }))
    }

    /// Chunks waiting to be embedded, and when the oldest of them was queued.
    pub async fn backlog(self) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM memory_embed_queue").fetch_one(p).await?;
            let oldest: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT queued_at FROM memory_embed_queue ORDER BY chunk_id LIMIT 1")
                .fetch_optional(p).await?;
            Ok((n, oldest))
        })
    }

    /// The vectors of one scope, newest chunks first, at most `limit` of them.
    pub async fn scan(self, s: &VectorScan<'_>) -> Result<Vec<VectorRow>, sqlx::Error> {
        let [profile, daily, note, session] = s.tiers;
        let sql = "SELECT c.id, c.tier, c.content, c.day, c.idx, c.session_id, c.created_at, v.dim, v.vec \
                   FROM memory_vectors v JOIN memory_chunks c ON c.id = v.chunk_id \
                   WHERE v.user_id = $1 AND v.workspace_id = $2 AND v.embedder = $3 \
                   AND (($4 AND c.tier = 'profile') OR ($5 AND c.tier = 'daily') OR ($6 AND c.tier = 'note') OR ($7 AND c.tier = 'session')) \
                   AND ($8 IS NULL OR c.tier NOT IN ('daily', 'session') OR c.created_at >= $8) \
                   AND ($9 IS NULL OR c.session_id IS NULL OR c.session_id <> $9) \
                   ORDER BY v.chunk_id DESC LIMIT $10";
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sql)
                .bind(s.user_id).bind(s.workspace_id).bind(s.embedder)
                .bind(profile).bind(daily).bind(note).bind(session)
                .bind(s.not_before).bind(s.exclude_session).bind(s.limit)
                .fetch_all(p).await
        })
    }
}
