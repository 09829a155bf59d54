//! Queue operations behind the `/jobs` routes: enqueue, list, read and cancel a workspace's
//! jobs, with who may do what.

use chrono::Utc;

use super::{JOB_STATUSES, NewJob};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{JobRow, Store},
    workspaces::Role,
};

/// Validates `job` and enqueues it for `user_id` (whose role there is `role`) in
/// `workspace_id`; viewers may not.
pub async fn enqueue(
    store: &Store,
    workspace_id: &str,
    user_id: &str,
    role: Role,
    job: NewJob,
    allow_private: bool,
) -> ApiResult<JobRow> {
    if !role.can_run_agents() {
        return Err(ApiError::Forbidden("Viewers cannot enqueue jobs".into()));
    }
    let row = job.validate(workspace_id, user_id, allow_private)?;
    store.jobs().insert_job(&row).await?;
    Ok(row)
}

/// One page of a workspace's jobs, newest first, optionally of one status; with the total.
pub async fn list(
    store: &Store,
    workspace_id: &str,
    status: Option<&str>,
    page: Page,
) -> ApiResult<(Vec<JobRow>, i64)> {
    if let Some(s) = status
        && !JOB_STATUSES.contains(&s)
    {
        return Err(ApiError::field(
            "status",
            format!("must be one of {}", JOB_STATUSES.join(", ")),
        ));
    }
    Ok(store
        .jobs()
        .jobs_of(workspace_id, status, page.limit, page.offset)
        .await?)
}

/// A job of the workspace; 404 when there is none.
pub async fn get(store: &Store, workspace_id: &str, id: &str) -> ApiResult<JobRow> {
    store
        .jobs()
        .job(workspace_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Job"))
}

/// Cancels a pending job for `user_id` (role `role` in `ws`): its creator or a manager may;
/// 409 when it is running or finished.
pub async fn cancel(
    store: &Store,
    ws: &str,
    user_id: &str,
    role: Role,
    id: &str,
) -> ApiResult<JobRow> {
    let job = get(store, ws, id).await?;
    if job.user_id != user_id && !role.can_manage() {
        return Err(ApiError::Forbidden(
            "Only the job's creator or a workspace owner/admin can cancel it".into(),
        ));
    }
    // The conditional update is the arbiter: the worker may have claimed it meanwhile.
    if !store.jobs().cancel_job(ws, id, Utc::now()).await? {
        let now = store.jobs().job(ws, id).await?;
        let status = now.map(|j| j.status).unwrap_or(job.status);
        return Err(ApiError::Conflict(format!(
            "Job is {status}; only pending jobs can be cancelled"
        )));
    }
    get(store, ws, id).await
}
