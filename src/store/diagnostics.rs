//! Diagnostic runs, and what the database knows about applied migrations.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{Store, migrator};
use crate::with_pool;

/// A stored diagnostic run.
#[derive(Debug, Clone, FromRow)]
pub struct DiagnosticRunRow {
    /// `diag_…`
    pub id: String,
    /// True when every check passed.
    pub ok: bool,
    /// The checks `[{name, ok, latencyMs, detail}]`.
    pub checks: Json<Value>,
    /// Wall time of the run.
    pub duration_ms: i64,
    /// When it ran.
    pub created_at: DateTime<Utc>,
}

/// Migrations shipped with the binary versus applied to the database.
#[derive(Debug, Clone, Default)]
pub struct MigrationStatus {
    /// Versions embedded in this build.
    pub expected: Vec<i64>,
    /// Versions recorded as applied successfully.
    pub applied: Vec<i64>,
}

impl MigrationStatus {
    /// Embedded versions not applied yet.
    pub fn pending(&self) -> Vec<i64> {
        self.expected
            .iter()
            .copied()
            .filter(|v| !self.applied.contains(v))
            .collect()
    }
}

/// Diagnostic runs and the applied migrations.
#[derive(Clone, Copy)]
pub struct Diagnostics<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The diagnostics aggregate.
    pub fn diagnostics(&self) -> Diagnostics<'_> {
        Diagnostics(self)
    }
}

impl Diagnostics<'_> {
    /// Stores a run.
    pub async fn insert_diagnostic_run(self, run: &DiagnosticRunRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO diagnostic_runs (id, ok, checks, duration_ms, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&run.id).bind(run.ok).bind(&run.checks).bind(run.duration_ms).bind(run.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The newest `limit` runs, newest first.
    pub async fn diagnostic_runs(self, limit: i64) -> Result<Vec<DiagnosticRunRow>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT id, ok, checks, duration_ms, created_at FROM diagnostic_runs ORDER BY created_at DESC, id DESC LIMIT $1")
                .bind(limit).fetch_all(p).await
        })
    }

    /// Embedded and applied migration versions.
    pub async fn migration_status(self) -> Result<MigrationStatus, sqlx::Error> {
        let expected = migrator(&self.0.pool)
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| m.version)
            .collect();
        let applied = with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(p).await
        })?;
        Ok(MigrationStatus { expected, applied })
    }
}
