//! Monitor operations behind the `/heartbeat` routes: members and up write, viewers read;
//! every lookup is scoped to the caller's workspace.

use chrono::Utc;

use super::NewMonitor;
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{MonitorRow, RunRow, Store},
    workspaces::Role,
};

fn require_writer(role: Role) -> ApiResult<()> {
    if role.can_run_agents() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Viewers cannot change monitors".into()))
    }
}

/// A monitor of the workspace; 404 when there is none.
pub async fn get(store: &Store, workspace_id: &str, id: &str) -> ApiResult<MonitorRow> {
    store
        .heartbeat()
        .monitor(workspace_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Monitor"))
}

/// One page of the workspace's monitors, oldest first, with the total.
pub async fn list(
    store: &Store,
    workspace_id: &str,
    page: Page,
) -> ApiResult<(Vec<MonitorRow>, i64)> {
    Ok(store
        .heartbeat()
        .monitors_of(workspace_id, page.limit, page.offset)
        .await?)
}

/// Validates and stores a new monitor of `user_id` (role `role`) in `workspace_id`; its
/// first run is due at once.
pub async fn create(
    store: &Store,
    workspace_id: &str,
    user_id: &str,
    role: Role,
    monitor: NewMonitor,
    allow_private: bool,
) -> ApiResult<MonitorRow> {
    require_writer(role)?;
    let row = monitor.validate(workspace_id, user_id, allow_private)?;
    store.heartbeat().insert_monitor(&row).await?;
    Ok(row)
}

/// Enables or disables a monitor (for a caller with `role`); enabling makes it due at once.
pub async fn set_enabled(
    store: &Store,
    workspace_id: &str,
    role: Role,
    id: &str,
    enabled: bool,
) -> ApiResult<MonitorRow> {
    require_writer(role)?;
    let now = Utc::now();
    if !store
        .heartbeat()
        .set_monitor_enabled(workspace_id, id, enabled, now, now)
        .await?
    {
        return Err(ApiError::not_found("Monitor"));
    }
    get(store, workspace_id, id).await
}

/// Deletes a monitor and its runs (for a caller with `role`).
pub async fn delete(store: &Store, workspace_id: &str, role: Role, id: &str) -> ApiResult<()> {
    require_writer(role)?;
    if store.heartbeat().delete_monitor(workspace_id, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("Monitor"))
    }
}

/// One page of a monitor's runs, newest first, with the total; 404 for an unknown monitor.
pub async fn runs(
    store: &Store,
    workspace_id: &str,
    id: &str,
    page: Page,
) -> ApiResult<(Vec<RunRow>, i64)> {
    let monitor = get(store, workspace_id, id).await?;
    Ok(store
        .heartbeat()
        .monitor_runs(&monitor.id, page.limit, page.offset)
        .await?)
}
