//! Persistence: one [`Store`] over SQLite (embedded default) or PostgreSQL.
//!
//! Most SQL is the same text on both engines (`$1…$N` placeholders work on both through sqlx),
//! so each query is written once inside [`with_pool!`], which expands it once per engine and type
//! checks both. Dialect-specific SQL (full-text search, upserts, queue claims, date maths) matches
//! on [`Pool`] explicitly. Each aggregate has its own file of `impl Store` methods.

mod agents;
mod idempotency;
pub mod ids;
mod memory;
mod memory_profiles;
mod onboarding;
mod sessions;
mod skill_metrics;
mod stats;
mod turns;
mod users;
mod workspaces;

pub use agents::{AgentRow, AgentVersionRow};
pub use idempotency::IdempotencyClaim;
pub use memory::{ChunkHit, ChunkSearch, MemoryEntryRow, NewMemoryEntry};
pub use memory_profiles::{MemoryProfileRow, ProfileDeletion};
pub use sessions::{MessageRow, SessionKey, SessionRow};
pub use skill_metrics::SkillMetric;
pub use stats::{GlobalCounts, WorkspaceStats};
pub use turns::{TraceRow, TurnRecord, UsageRow};
pub use users::{RefreshTokenRow, UserRow};
pub use workspaces::{GrantRow, MemberRow, WorkspaceRow};

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::config::Config;

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

/// The gateway's database handle (cheap to clone).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connects to the configured database (creating the SQLite file if needed).
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let pool = match &config.database_url {
            Some(url) if url.starts_with("postgres") => {
                let pool = PgPoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(config.db_acquire_timeout)
                    .connect(url)
                    .await
                    .context("DATABASE_URL: cannot connect to PostgreSQL")?;
                Pool::Postgres(pool)
            }
            other => {
                let url = match other {
                    Some(url) => url.clone(),
                    None => {
                        std::fs::create_dir_all(&config.data_dir).with_context(|| {
                            format!(
                                "ASTRA_DATA_DIR: cannot create {}",
                                config.data_dir.display()
                            )
                        })?;
                        format!("sqlite://{}", config.sqlite_path().display())
                    }
                };
                let options = SqliteConnectOptions::from_str(&url)
                    .context("DATABASE_URL: invalid SQLite URL")?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(config.db_max_connections)
                    .acquire_timeout(config.db_acquire_timeout)
                    .connect_with(options)
                    .await
                    .context("DATABASE_URL: cannot open the SQLite database")?;
                Pool::Sqlite(pool)
            }
        };
        Ok(Self { pool })
    }

    /// Applies pending migrations of the engine in use.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("migrations/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("migrations/postgres").run(p).await?,
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

    /// Closes every pooled connection.
    pub async fn close(&self) {
        with_pool!(&self.pool, p => p.close().await)
    }
}

/// True when the error is a unique-constraint violation on either engine.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
