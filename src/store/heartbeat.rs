//! Heartbeat monitors (RSS feeds and HTTP endpoints checked on a schedule) and their runs.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, DeliveryRow, Pool, Store, webhooks::insert_deliveries};
use crate::with_pool;

/// A monitor configuration.
#[derive(Debug, Clone, FromRow)]
pub struct MonitorRow {
    /// `hb_…`
    pub id: String,
    /// Creator (events go to this user's webhooks).
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// Display name.
    pub name: String,
    /// `rss|http`.
    pub monitor_type: String,
    /// What is checked.
    pub url: String,
    /// Minutes between runs (5–10080).
    pub interval_minutes: i64,
    /// Disabled monitors are not run.
    pub enabled: bool,
    /// Type-specific options (`timeoutMs`).
    pub config: Json<Value>,
    /// When the next run is due.
    pub next_run_at: DateTime<Utc>,
    /// `ok|error` of the latest run.
    pub last_status: Option<String>,
    /// Start of the latest run.
    pub last_run_at: Option<DateTime<Utc>>,
    /// RSS: ids of the items seen by the latest run.
    pub seen: Json<Vec<String>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One run of a monitor.
#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    /// `hbr_…`
    pub id: String,
    /// Monitor.
    pub monitor_id: String,
    /// `ok|error`.
    pub status: String,
    /// Wall time of the check.
    pub latency_ms: i64,
    /// What was found (HTTP status, item counts, the error).
    pub detail: Json<Value>,
    /// Start.
    pub started_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, user_id, workspace_id, name, monitor_type, url, interval_minutes, enabled, config, next_run_at, last_status, last_run_at, seen, created_at, updated_at";

/// Heartbeat monitors and their runs.
#[derive(Clone, Copy)]
pub struct Heartbeat<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The heartbeat aggregate.
    pub fn heartbeat(&self) -> Heartbeat<'_> {
        Heartbeat(self)
    }
}

impl Heartbeat<'_> {
    /// Inserts a monitor.
    pub async fn insert_monitor(self, m: &MonitorRow) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO heartbeat_monitors ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&m.id).bind(&m.user_id).bind(&m.workspace_id).bind(&m.name).bind(&m.monitor_type)
                .bind(&m.url).bind(m.interval_minutes).bind(m.enabled).bind(&m.config).bind(m.next_run_at)
                .bind(&m.last_status).bind(m.last_run_at).bind(&m.seen).bind(m.created_at).bind(m.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// A monitor of the workspace.
    pub async fn monitor(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<MonitorRow>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM heartbeat_monitors WHERE id = $1 AND workspace_id = $2");
        with_pool!(&self.0.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(workspace_id).fetch_optional(p).await)
    }

    /// Monitors of the workspace, oldest first; plus the total.
    pub async fn monitors_of(
        self,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<MonitorRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM heartbeat_monitors WHERE workspace_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM heartbeat_monitors WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Enables or disables a monitor; enabling makes it due at `next_run_at`. False when absent.
    pub async fn set_monitor_enabled(
        self,
        workspace_id: &str,
        id: &str,
        enabled: bool,
        next_run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE heartbeat_monitors SET enabled = $3, next_run_at = CASE WHEN $3 AND NOT enabled THEN $4 ELSE next_run_at END, updated_at = $5 WHERE id = $1 AND workspace_id = $2")
                .bind(id).bind(workspace_id).bind(enabled).bind(next_run_at).bind(now)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Deletes a monitor with its runs; false when absent.
    pub async fn delete_monitor(self, workspace_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM heartbeat_monitors WHERE id = $1 AND workspace_id = $2")
                .bind(id).bind(workspace_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Runs of a monitor, newest first; plus the total.
    pub async fn monitor_runs(
        self,
        monitor_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<RunRow>, i64), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as("SELECT id, monitor_id, status, latency_ms, detail, started_at FROM heartbeat_runs WHERE monitor_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3")
                .bind(monitor_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM heartbeat_runs WHERE monitor_id = $1")
                .bind(monitor_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Claims up to `limit` enabled monitors that are due and not leased by another run; the
    /// lease lasts until `lease_until`.
    pub async fn claim_monitors(
        self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<MonitorRow>, sqlx::Error> {
        let lock = match self.0.pool {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE heartbeat_monitors SET locked_until = $2 \
             WHERE id IN (SELECT id FROM heartbeat_monitors \
               WHERE enabled = $4 AND next_run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) \
               ORDER BY next_run_at LIMIT $3{lock}) \
             RETURNING {COLUMNS}"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now).bind(lease_until).bind(limit).bind(true).fetch_all(p).await
        })
    }

    /// Records a run, moves the monitor's schedule on and releases its lease, atomically — with
    /// the deliveries of the event the run causes (`heartbeat.failed` / `.recovered`), if any.
    pub async fn record_monitor_run(
        self,
        run: &RunRow,
        next_run_at: DateTime<Utc>,
        seen: &[String],
        outbox: &[DeliveryRow],
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            insert_deliveries!(tx, outbox);
            sqlx::query("INSERT INTO heartbeat_runs (id, monitor_id, status, latency_ms, detail, started_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&run.id).bind(&run.monitor_id).bind(&run.status).bind(run.latency_ms)
                .bind(&run.detail).bind(run.started_at)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE heartbeat_monitors SET last_status = $2, last_run_at = $3, next_run_at = $4, seen = $5, locked_until = NULL WHERE id = $1")
                .bind(&run.monitor_id).bind(&run.status).bind(run.started_at).bind(next_run_at)
                .bind(Json(seen)).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// Records a run that was refused (its creator may no longer run it) and disables the
    /// monitor, releasing its lease, atomically.
    pub async fn record_refused_monitor_run(self, run: &RunRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO heartbeat_runs (id, monitor_id, status, latency_ms, detail, started_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&run.id).bind(&run.monitor_id).bind(&run.status).bind(run.latency_ms)
                .bind(&run.detail).bind(run.started_at)
                .execute(&mut *tx).await?;
            sqlx::query("UPDATE heartbeat_monitors SET enabled = $2, last_status = $3, last_run_at = $4, updated_at = $4, locked_until = NULL WHERE id = $1")
                .bind(&run.monitor_id).bind(false).bind(&run.status).bind(run.started_at)
                .execute(&mut *tx).await?;
            tx.commit().await
        })
    }
}
