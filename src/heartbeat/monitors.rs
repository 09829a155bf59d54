//! Monitor operations behind the `/heartbeat` routes: members and up write, viewers read;
//! every lookup is scoped to the caller's workspace.

use chrono::Utc;

use super::NewMonitor;
use crate::{
    error::{ApiError, ApiResult},
    http::extract::WorkspaceMember,
    page::Page,
    store::{MonitorRow, RunRow, Store},
};

fn require_writer(member: &WorkspaceMember) -> ApiResult<()> {
    if member.role.can_run_agents() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Viewers cannot change monitors".into()))
    }
}

/// A monitor of the workspace; 404 when there is none.
pub async fn get(store: &Store, workspace_id: &str, id: &str) -> ApiResult<MonitorRow> {
    store
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
        .monitors_of(workspace_id, page.limit, page.offset)
        .await?)
}

/// Validates and stores a new monitor; its first run is due at once.
pub async fn create(
    store: &Store,
    member: &WorkspaceMember,
    monitor: NewMonitor,
    allow_private: bool,
) -> ApiResult<MonitorRow> {
    require_writer(member)?;
    let row = monitor.validate(member, allow_private)?;
    store.insert_monitor(&row).await?;
    Ok(row)
}

/// Enables or disables a monitor; enabling makes it due at once.
pub async fn set_enabled(
    store: &Store,
    member: &WorkspaceMember,
    id: &str,
    enabled: bool,
) -> ApiResult<MonitorRow> {
    require_writer(member)?;
    let now = Utc::now();
    if !store
        .set_monitor_enabled(&member.workspace_id, id, enabled, now, now)
        .await?
    {
        return Err(ApiError::not_found("Monitor"));
    }
    get(store, &member.workspace_id, id).await
}

/// Deletes a monitor and its runs.
pub async fn delete(store: &Store, member: &WorkspaceMember, id: &str) -> ApiResult<()> {
    require_writer(member)?;
    if store.delete_monitor(&member.workspace_id, id).await? {
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
        .monitor_runs(&monitor.id, page.limit, page.offset)
        .await?)
}
