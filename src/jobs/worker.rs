//! The job worker: claims due jobs up to its concurrency, runs each with its timeout, retries
//! failures with exponential backoff and emits `job.completed` / `job.failed` — written in the
//! transaction that stores the job's end (the transactional outbox), so a crash cannot keep
//! one without the other.
//!
//! Attempts are counted when claimed, so an attempt that never ends (its process was killed)
//! still spends one: once the lease of a job's last allowed attempt runs out, the job ends
//! `failed` ([`ABANDONED`]) instead of being claimed again.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::run::execute;
use crate::{
    app::AppState,
    poll::backoff,
    store::{DeliveryRow, JobFinish, JobRow},
    webhooks::outbox,
    workspaces::creator_refusal,
};

/// Extra lease time past a job's own timeout before another replica may reclaim it.
const LEASE_MARGIN_SECS: i64 = 60;
/// The longest timeout a job may have, which bounds the lease taken at claim time.
const MAX_TIMEOUT_SECS: i64 = 3600;

/// The error of a job whose last allowed attempt never finished.
pub const ABANDONED: &str = "the last attempt did not finish before its lease ran out (the process running it stopped or hung); no attempts left";
/// Abandoned jobs failed per poll.
const ABANDONED_BATCH: i64 = 100;

/// Claims and runs jobs (cheap to clone: the semaphore is shared).
#[derive(Clone)]
pub struct Runner {
    permits: Arc<Semaphore>,
}

impl Runner {
    /// A runner allowing `workers.job_concurrency` jobs at once.
    pub fn new(state: &AppState) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(state.config.workers.job_concurrency.max(1))),
        }
    }

    /// One poll: claims as many due jobs as there are free slots and starts them; true when
    /// every free slot was filled.
    pub async fn tick(&self, state: &AppState) -> anyhow::Result<bool> {
        let now = Utc::now();
        let abandoned = state
            .store
            .jobs()
            .abandoned_jobs(now, ABANDONED_BATCH)
            .await?;
        for job in abandoned {
            let events = job_events(state, &job, "failed", &Err(ABANDONED.to_string())).await?;
            if state
                .store
                .jobs()
                .fail_abandoned_job(&job, now, ABANDONED, &events)
                .await?
            {
                tracing::warn!(job = %job.id, attempts = job.attempts, "job failed: its last attempt was abandoned");
            }
        }
        let free = self.permits.available_permits();
        if free == 0 {
            return Ok(false);
        }
        let now = Utc::now();
        let lease = now + chrono::Duration::seconds(MAX_TIMEOUT_SECS + LEASE_MARGIN_SECS);
        let claimed = state
            .store
            .jobs()
            .claim_jobs(now, lease, free as i64)
            .await?;
        let full = claimed.len() == free;
        for job in claimed {
            let until = now + chrono::Duration::seconds(job.timeout_seconds + LEASE_MARGIN_SECS);
            state
                .store
                .jobs()
                .set_job_lease(&job.id, job.attempts, until)
                .await?;
            let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                // Cannot happen (only this loop takes permits); hand the job back.
                state
                    .store
                    .jobs()
                    .release_job(&job.id, job.attempts)
                    .await?;
                continue;
            };
            state.tasks.spawn(run_one(state.clone(), job, permit));
        }
        Ok(full)
    }
}

/// Runs one claimed attempt. It counts as in flight: at shutdown it may finish within the
/// grace; when the grace runs out first it is handed back (not counted) for the next start.
async fn run_one(state: AppState, job: JobRow, _permit: OwnedSemaphorePermit) {
    let _in_flight = state.in_flight.token();
    if refused_creator(&state, &job).await {
        return;
    }
    let limit = Duration::from_secs(u64::try_from(job.timeout_seconds).unwrap_or(300));
    tracing::info!(job = %job.id, kind = %job.job_type, attempt = job.attempts, "job started");
    let outcome = tokio::select! {
        r = tokio::time::timeout(limit, execute(&state, &job)) => r
            .unwrap_or_else(|_| Err(format!("timed out after {}s", job.timeout_seconds))),
        () = state.shutdown.cancelled() => {
            if let Err(e) = state.store.jobs().release_job(&job.id, job.attempts).await {
                tracing::warn!(job = %job.id, error = %e, "could not release a job at shutdown");
            }
            return;
        }
    };
    let now = Utc::now();
    let finish = match &outcome {
        Ok(result) => JobFinish {
            status: "completed",
            result: Some(result.clone()),
            error: None,
            run_at: job.run_at,
            finished_at: Some(now),
        },
        Err(error) if job.attempts <= job.max_retries => JobFinish {
            status: "pending",
            result: None,
            error: Some(error.clone()),
            run_at: now + backoff(state.config.workers.job_retry_base, job.attempts),
            finished_at: None,
        },
        Err(error) => JobFinish {
            status: "failed",
            result: None,
            error: Some(error.clone()),
            run_at: job.run_at,
            finished_at: Some(now),
        },
    };
    tracing::info!(job = %job.id, attempt = job.attempts, status = finish.status, error = finish.error.as_deref().unwrap_or_default(), "job attempt finished");
    let stored = match job_events(&state, &job, finish.status, &outcome).await {
        Ok(events) => {
            state
                .store
                .jobs()
                .finish_job(&job.id, job.attempts, &finish, &events)
                .await
        }
        Err(e) => Err(e),
    };
    match stored {
        Ok(true) => {}
        // Reclaimed by another replica after the lease ran out: that attempt owns the job
        // (and nothing of this one, event included, was written).
        Ok(false) => {}
        // The lease runs out and the job is claimed again (or failed as abandoned).
        Err(e) => tracing::warn!(job = %job.id, error = %e, "could not store a job outcome"),
    }
}

/// The deliveries of `job.completed` / `job.failed` for a job ending with `status` (none for
/// a retry), to be written with the job's end.
async fn job_events(
    state: &AppState,
    job: &JobRow,
    status: &str,
    outcome: &Result<serde_json::Value, String>,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let (event, detail) = match (status, outcome) {
        ("completed", Ok(result)) => ("job.completed", json!({ "result": result })),
        ("failed", Err(error)) => ("job.failed", json!({ "error": error })),
        _ => return Ok(Vec::new()),
    };
    let mut data = json!({
        "jobId": job.id, "type": job.job_type, "status": status,
        "attempts": job.attempts, "workspaceId": job.workspace_id,
    });
    if let (Some(d), Some(extra)) = (data.as_object_mut(), detail.as_object()) {
        d.extend(extra.clone());
    }
    outbox(
        &state.store,
        &job.user_id,
        Some(&job.workspace_id),
        vec![(event, data)],
    )
    .await
}

/// A job runs as its creator: when they left the workspace (or became a viewer) since it was
/// enqueued, it ends `failed` at once — no retry, no `job.failed` event to the former member's
/// webhooks — with the reason in `error`. True when the job was refused (or could not be
/// checked and was handed back).
async fn refused_creator(state: &AppState, job: &JobRow) -> bool {
    let reason = match creator_refusal(&state.store, &job.workspace_id, &job.user_id).await {
        Ok(None) => return false,
        Ok(Some(reason)) => reason,
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "could not check the job's creator");
            if let Err(e) = state.store.jobs().release_job(&job.id, job.attempts).await {
                tracing::warn!(job = %job.id, error = %e, "could not release a job");
            }
            return true;
        }
    };
    let finish = JobFinish {
        status: "failed",
        result: None,
        error: Some(format!("not run: {reason}")),
        run_at: job.run_at,
        finished_at: Some(Utc::now()),
    };
    tracing::info!(job = %job.id, reason, "job refused: its creator may no longer run it");
    if let Err(e) = state
        .store
        .jobs()
        .finish_job(&job.id, job.attempts, &finish, &[])
        .await
    {
        tracing::warn!(job = %job.id, error = %e, "could not store a job outcome");
    }
    true
}
