//! Persistence: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Most SQL is the same text on both engines (`$1…$N` placeholders work on both through sqlx),
//! so each query is written once inside [`with_pool!`], which expands it once per engine and type
//! checks both. Dialect-specific SQL (full-text search, upserts, queue claims, date maths) matches
//! on [`Pool`] explicitly.
//!
//! **Views per aggregate**: each aggregate file defines a view borrowing the store
//! (`store.agents()` → [`Agents`], `store.jobs()` → [`Jobs`], …) and its queries are methods
//! of that view, never of [`Store`]. The rule for what stays on [`Store`] itself: only what
//! concerns the engine rather than a table — [`Store::connect`], [`Store::migrate`],
//! [`Store::ping`], [`Store::engine`], [`Store::pool`], [`Store::close`] — plus one accessor per
//! view. Turn writes go through the store's group-commit writer (`turn_writer`), reached
//! through the turns view. Everything that reads or writes rows, including the cached reads
//! (`agent_cached`, `workspace_cached`, `member_role_cached`, `user_cached`) and their
//! invalidation, lives on the view of the aggregate that owns the rows, because the cache is
//! that aggregate's read path. A query that needs another aggregate goes through that
//! aggregate's view (`self.0.agents().forget_agents(..)`). Views are `Copy` and their methods
//! take `self` by value, so a future never borrows a temporary view.
//!
//! **Write transactions** begin in exactly one way: `p.begin_write()` ([`BeginWrite`]) inside
//! [`with_pool!`] — never `p.begin()` or `p.begin_with(..)`. On SQLite it is
//! `BEGIN IMMEDIATE`, which takes the write lock up front and waits out other writers with the
//! busy timeout; a deferred `BEGIN` whose transaction reads first (FTS5 triggers do) cannot
//! upgrade once another connection has committed and fails at once with
//! `SQLITE_BUSY_SNAPSHOT`. On PostgreSQL it is a plain `BEGIN` (row locks, `FOR UPDATE`, do
//! the rest). Single statements need no transaction.
//!
//! **Rows, not domain types**: the store speaks in plain rows (strings, numbers, timestamps,
//! `serde_json::Value` for JSON documents) and never imports a domain module; the domain
//! modules convert (e.g. `agents::AgentConfig` ⇄ [`AgentDoc`] / [`AgentRow::config`]).
//!
//! The engine-specific behaviour (full-text search, FTS triggers, `SKIP LOCKED` claims, date
//! buckets) is pinned by the conformance suite in `tests/store/`, run on both engines.

mod admin;
mod agents;
mod api_keys;
mod budgets;
mod cache;
mod cluster;
mod costs;
mod diagnostics;
mod heartbeat;
mod idempotency;
pub mod ids;
mod jobs;
mod mcp_servers;
mod memory;
mod memory_profiles;
mod memory_vectors;
mod onboarding;
mod pool_watch;
mod provider_credentials;
mod reply_deliveries;
mod retention;
pub mod session_window;
mod sessions;
mod sessions_query;
mod signing_keys;
mod skill_metrics;
mod stats;
mod traces;
mod turn_batch;
mod turn_writer;
mod turns;
mod users;
mod webhooks;
mod workspaces;

pub use admin::{Admin, AuditRow};
pub use agents::{AgentDoc, AgentRow, AgentVersionRow, Agents};
pub use api_keys::{ApiKeyRow, ApiKeys};
pub use budgets::{Budgets, Reservation};
pub use cache::TtlCache;
pub use cluster::{Exclusive, Invalidation};
pub use costs::{Bucket, Costs, PeriodUsage, UsageGroup, UsageTotals};
pub use diagnostics::{DiagnosticRunRow, Diagnostics, MigrationStatus};
pub use heartbeat::{Heartbeat, MonitorRow, RunRow};
pub use idempotency::{Idempotency, IdempotencyClaim};
pub use jobs::{JobFinish, JobRow, Jobs};
pub use mcp_servers::{McpServerRow, McpServers};
pub use memory::{ChunkHit, ChunkSearch, Memory, MemoryEntryRow, NewMemoryEntry};
pub use memory_profiles::{MemoryProfileRow, MemoryProfiles, ProfileDeletion};
pub use memory_vectors::{EmbedJob, MemoryVectors, NewVector, VectorRow, VectorScan};
pub use onboarding::Onboarding;
pub use pool_watch::{BeginSample, observe_begins};
pub use provider_credentials::{ProviderCredentialRow, ProviderCredentials};
pub use reply_deliveries::{ReplyDeliveries, ReplyDeliveryRow};
pub use retention::{RetainedTable, Retention};
pub use sessions::{MessageRow, SessionKey, SessionRow, Sessions};
pub use sessions_query::{Handoff, MessageHit, SessionFilter};
pub use signing_keys::{SigningKeyRow, SigningKeys};
pub use skill_metrics::{SkillMetric, SkillMetrics, SkillMetricsSummary};
pub use stats::{GlobalCounts, Stats, WorkspaceStats};
pub use traces::{TraceRow, Traces};
pub use turn_batch::{MonthTokens, SessionTouch, TurnWrite};
pub use turn_writer::{DEFAULT_TURN_BATCH, MAX_TURN_BATCH, WriterStats};
pub use turns::{TurnRecord, Turns, UsageRow};
pub use users::{NewRefreshToken, RefreshTokenRow, UserRow, Users};
pub use webhooks::{DeliveryOutcome, DeliveryRow, WebhookRow, Webhooks};
pub use workspaces::{
    GrantDirection, GrantRow, Grants, MemberRow, MemberWrite, MembershipSnapshot, WorkspaceRow,
    Workspaces,
};

use std::{
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use anyhow::Context;
use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

/// A connection pool for one of the two engines.
#[derive(Debug, Clone)]
pub enum Pool {
    /// The embedded SQLite file.
    Sqlite(SqlitePool),
    /// A PostgreSQL server.
    Postgres(PgPool),
}

/// Runs the same expression against whichever engine the pool is, binding it to `$p`.
#[macro_export]
macro_rules! with_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}

/// Opening a write transaction on either engine (`p.begin_write()` inside [`with_pool!`]);
/// each begin is timed for the metrics ([`observe_begins`]).
pub trait BeginWrite {
    /// The engine.
    type Db: sqlx::Database;
    /// Begins a transaction that will write.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
    + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    /// `BEGIN IMMEDIATE` takes the write lock up front (waiting on `busy_timeout`). A deferred
    /// `BEGIN` whose transaction reads first — which FTS5 triggers do when they load the
    /// index's configuration — cannot upgrade once another connection has committed and
    /// fails at once with `SQLITE_BUSY_SNAPSHOT`.
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>,
    > + Send {
        let waited = pool_watch::exhausted(
            self.size(),
            self.num_idle(),
            self.options().get_max_connections(),
        );
        pool_watch::timed(waited, self.begin_with("BEGIN IMMEDIATE"))
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>,
    > + Send {
        let waited = pool_watch::exhausted(
            self.size(),
            self.num_idle(),
            self.options().get_max_connections(),
        );
        pool_watch::timed(waited, self.begin())
    }
}

/// The gateway's database handle (cheap to clone).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    cache: std::sync::Arc<cache::StoreCaches>,
    /// The group-commit writer of turns (`turn_writer`).
    writer: std::sync::Arc<turn_writer::TurnWriter>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.engine())
            .finish()
    }
}

/// Where the database is and how large its pool is: plain values, so the store needs nothing
/// of the configuration (the app fills them from `DATABASE_URL`, `ASTRA_DATA_DIR`, …).
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `postgres://…` or `sqlite:…`; `None` opens the SQLite file at `sqlite_path`.
    pub url: Option<String>,
    /// The default SQLite file; its directory is created when missing.
    pub sqlite_path: PathBuf,
    /// Most connections in the pool.
    pub max_connections: u32,
    /// How long a query waits for a free connection.
    pub acquire_timeout: Duration,
    /// SQLite's `PRAGMA synchronous`, set on every connection (`ASTRA_SQLITE_SYNCHRONOUS`).
    pub sqlite_synchronous: SqliteSynchronous,
    /// Most turn writes per group-commit transaction (`ASTRA_TURN_WRITER_BATCH`; 1 = a
    /// transaction per write).
    pub turn_batch: usize,
}

impl Store {
    /// Connects to the database (creating the SQLite file if needed).
    pub async fn connect(options: &ConnectOptions) -> anyhow::Result<Self> {
        let pool = match &options.url {
            Some(url) if url.starts_with("postgres") => {
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect(url)
                    .await
                    .context("DATABASE_URL: cannot connect to PostgreSQL")?;
                Pool::Postgres(pool)
            }
            other => {
                let url = match other {
                    Some(url) => url.clone(),
                    None => {
                        let dir = options.sqlite_path.parent().unwrap_or(Path::new("."));
                        std::fs::create_dir_all(dir).with_context(|| {
                            format!("ASTRA_DATA_DIR: cannot create {}", dir.display())
                        })?;
                        format!("sqlite://{}", options.sqlite_path.display())
                    }
                };
                let sqlite = SqliteConnectOptions::from_str(&url)
                    .context("DATABASE_URL: invalid SQLite URL")?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(options.sqlite_synchronous)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(sqlite)
                    .await
                    .context("DATABASE_URL: cannot open the SQLite database")?;
                Pool::Sqlite(pool)
            }
        };
        let writer = turn_writer::TurnWriter::spawn(pool.clone(), options.turn_batch);
        Ok(Self {
            pool,
            cache: Default::default(),
            writer: std::sync::Arc::new(writer),
        })
    }

    /// Applies pending migrations of the engine in use.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = migrator(&self.pool);
        match &self.pool {
            Pool::Sqlite(p) => migrator.run(p).await?,
            Pool::Postgres(p) => migrator.run(p).await?,
        }
        Ok(())
    }

    /// One round trip, for health checks.
    pub async fn ping(&self) -> bool {
        let result: Result<i32, sqlx::Error> = with_pool!(&self.pool, p => {
            sqlx::query_scalar("SELECT 1").fetch_one(p).await
        });
        result.is_ok()
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// The underlying pool, for modules that keep their SQL next to their domain.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Writes the turns already queued for the group commit (refusing new ones), then closes
    /// every pooled connection.
    pub async fn close(&self) {
        self.writer.close().await;
        with_pool!(&self.pool, p => p.close().await)
    }
}

/// The migrations embedded for the pool's engine.
fn migrator(pool: &Pool) -> sqlx::migrate::Migrator {
    match pool {
        Pool::Sqlite(_) => sqlx::migrate!("migrations/sqlite"),
        Pool::Postgres(_) => sqlx::migrate!("migrations/postgres"),
    }
}

/// True when the error is a unique-constraint violation on either engine.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// The current time at the precision both engines store (microseconds), so a response
/// built from it equals what a later read returns (and their ETags agree).
pub fn stored_now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
