//! A workspace's usage dashboard: members, sessions, messages, tokens and cost over a window.

use chrono::{DateTime, Duration, Utc};

use super::load_for;
use crate::{
    error::{ApiError, ApiResult},
    store::{Store, WorkspaceStats},
};

/// Longest window of the dashboard, in days.
pub const MAX_STATS_DAYS: i64 = 365;

/// The dashboard of one workspace over the last `days` days.
#[derive(Debug)]
pub struct WorkspaceUsage {
    /// The workspace.
    pub workspace_id: String,
    /// The window.
    pub days: i64,
    /// Start of the window.
    pub since: DateTime<Utc>,
    /// The counters.
    pub stats: WorkspaceStats,
}

/// Usage of a workspace the caller belongs to over the last `days` (1–365, default 30).
pub async fn usage(
    store: &Store,
    workspace_id: &str,
    user_id: &str,
    days: Option<i64>,
) -> ApiResult<WorkspaceUsage> {
    let days = days.unwrap_or(30);
    if !(1..=MAX_STATS_DAYS).contains(&days) {
        return Err(ApiError::field("days", "must be 1-365"));
    }
    load_for(store, workspace_id, user_id).await?;
    let since = Utc::now() - Duration::days(days);
    let stats = store.stats().workspace_stats(workspace_id, since).await?;
    Ok(WorkspaceUsage {
        workspace_id: workspace_id.to_string(),
        days,
        since,
        stats,
    })
}
