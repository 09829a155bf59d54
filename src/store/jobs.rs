//! The background job queue: enqueue, list, cancel, and the worker's claim and finish (which
//! writes the job's `job.completed` / `job.failed` deliveries in the same transaction).

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, DeliveryRow, Pool, Store, webhooks::insert_deliveries};
use crate::with_pool;

/// A queued, running or finished job.
#[derive(Debug, Clone, FromRow)]
pub struct JobRow {
    /// `job_…`
    pub id: String,
    /// Creator (an `agent_run` job runs as this user).
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// `http_request|agent_run|webhook_emit|noop`.
    pub job_type: String,
    /// Type-specific input.
    pub payload: Json<Value>,
    /// `pending|running|completed|failed|cancelled`.
    pub status: String,
    /// Retries after the first attempt.
    pub max_retries: i64,
    /// Time limit of one attempt.
    pub timeout_seconds: i64,
    /// Attempts started so far, counted when claimed (an attempt handed back at shutdown is
    /// not counted).
    pub attempts: i64,
    /// When the job (or its next retry) is due.
    pub run_at: DateTime<Utc>,
    /// Output of a completed job.
    pub result: Option<Json<Value>>,
    /// Problem of the last failed attempt.
    pub error: Option<String>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
    /// Start of the latest attempt.
    pub started_at: Option<DateTime<Utc>>,
    /// End of the job.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How an attempt ended, as the worker stores it.
#[derive(Debug, Clone)]
pub struct JobFinish {
    /// `completed`, `failed`, or `pending` (a retry at `run_at`).
    pub status: &'static str,
    /// Output.
    pub result: Option<Value>,
    /// Problem.
    pub error: Option<String>,
    /// Next attempt (retries only).
    pub run_at: DateTime<Utc>,
    /// End of the job (final outcomes only).
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, workspace_id, job_type, payload, status, max_retries, timeout_seconds, attempts, run_at, result, error, created_at, started_at, finished_at";

/// The background job queue.
#[derive(Clone, Copy)]
pub struct Jobs<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The jobs aggregate.
    pub fn jobs(&self) -> Jobs<'_> {
        Jobs(self)
    }
}

impl Jobs<'_> {
    /// Enqueues a job.
    pub async fn insert_job(self, j: &JobRow) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO jobs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&j.id).bind(&j.user_id).bind(&j.workspace_id).bind(&j.job_type).bind(&j.payload)
                .bind(&j.status).bind(j.max_retries).bind(j.timeout_seconds).bind(j.attempts).bind(j.run_at)
                .bind(&j.result).bind(&j.error).bind(j.created_at).bind(j.started_at).bind(j.finished_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// A job of the workspace.
    pub async fn job(self, workspace_id: &str, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1 AND workspace_id = $2");
        with_pool!(&self.0.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(workspace_id).fetch_optional(p).await)
    }

    /// Jobs of the workspace (of one status when given), newest first; plus the total.
    pub async fn jobs_of(
        self,
        workspace_id: &str,
        status: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<JobRow>, i64), sqlx::Error> {
        let filter = "workspace_id = $1 AND ($2 IS NULL OR status = $2)";
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count = format!("SELECT COUNT(*) FROM jobs WHERE {filter}");
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(status).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                .bind(workspace_id).bind(status).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Cancels a job that is still pending; false when it is not (any more).
    pub async fn cancel_job(
        self,
        workspace_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE jobs SET status = 'cancelled', finished_at = $3 WHERE id = $1 AND workspace_id = $2 AND status = 'pending'")
                .bind(id).bind(workspace_id).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Claims up to `limit` due jobs (and running ones whose lease ran out while they still
    /// have an attempt left), counting the attempt at claim time: an attempt that never ends
    /// (the process died) still spends one. Each is leased until `lease_until` (shorten it
    /// with [`Jobs::set_job_lease`]). Jobs whose last attempt was abandoned are ended by
    /// [`Jobs::fail_abandoned_job`] instead.
    pub async fn claim_jobs(
        self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<JobRow>, sqlx::Error> {
        let lock = match self.0.pool {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = $1, locked_until = $2 \
             WHERE id IN (SELECT id FROM jobs \
               WHERE (status = 'pending' AND run_at <= $1) OR (status = 'running' AND locked_until < $1 AND attempts <= max_retries) \
               ORDER BY run_at LIMIT $3{lock}) \
             RETURNING {COLUMNS}"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now).bind(lease_until).bind(limit).fetch_all(p).await
        })
    }

    /// Up to `limit` running jobs whose lease ran out on their last allowed attempt
    /// (`attempts > max_retries`): the process running it died or hung, and claiming it again
    /// would run it past `maxRetries` — forever, for a job that kills its process. The worker
    /// ends each with [`Jobs::fail_abandoned_job`].
    pub async fn abandoned_jobs(
        self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<JobRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE status = 'running' AND locked_until < $1 \
             AND attempts > max_retries ORDER BY run_at LIMIT $2"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now).bind(limit).fetch_all(p).await
        })
    }

    /// Ends an abandoned job (from [`Jobs::abandoned_jobs`]) as `failed` with `error`, writing
    /// `outbox` (its `job.failed` deliveries) in the same transaction; false (and nothing
    /// written) when it is no longer abandoned at attempt `job.attempts` — so concurrent
    /// sweeps never both fail one job.
    pub async fn fail_abandoned_job(
        self,
        job: &JobRow,
        now: DateTime<Utc>,
        error: &str,
        outbox: &[DeliveryRow],
    ) -> Result<bool, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE jobs SET status = 'failed', error = $3, finished_at = $4, locked_until = NULL \
                         WHERE id = $1 AND attempts = $2 AND status = 'running' AND locked_until < $4 AND attempts > max_retries")
                .bind(&job.id).bind(job.attempts).bind(error).bind(now)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok(false);
            }
            insert_deliveries!(tx, outbox);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Sets the lease of a claimed attempt (its timeout plus a margin), so a job whose replica
    /// died is retried soon after its own timeout rather than the longest one.
    pub async fn set_job_lease(
        self,
        id: &str,
        attempt: i64,
        until: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE jobs SET locked_until = $3 WHERE id = $1 AND attempts = $2 AND status = 'running'")
                .bind(id).bind(attempt).bind(until).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Stores the end of attempt number `attempt` with the deliveries of the event it causes
    /// (`outbox`), in one transaction; false — and nothing written — when the claim was lost
    /// (the job was reclaimed after its lease ran out).
    pub async fn finish_job(
        self,
        id: &str,
        attempt: i64,
        f: &JobFinish,
        outbox: &[DeliveryRow],
    ) -> Result<bool, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let n = sqlx::query("UPDATE jobs SET status = $3, result = $4, error = $5, run_at = $6, finished_at = $7, locked_until = NULL \
                         WHERE id = $1 AND attempts = $2 AND status = 'running'")
                .bind(id).bind(attempt).bind(f.status).bind(f.result.clone().map(Json)).bind(&f.error)
                .bind(f.run_at).bind(f.finished_at)
                .execute(&mut *tx).await?.rows_affected();
            if n != 1 {
                return Ok(false);
            }
            insert_deliveries!(tx, outbox);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Hands an interrupted attempt back to the queue (shutdown): pending again, the attempt
    /// not counted.
    pub async fn release_job(self, id: &str, attempt: i64) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE jobs SET status = 'pending', attempts = attempts - 1, locked_until = NULL WHERE id = $1 AND attempts = $2 AND status = 'running'")
                .bind(id).bind(attempt).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
