//! Route group 10, cache part: `/skills/cache/*` — tool result cache stats and clearing.
//!
//! Both routes act on the caller's workspace (`X-Workspace-Id`, else their oldest) only:
//! one workspace never sees or clears another's cached results. With a cluster Redis they see
//! and clear every replica's entries.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error_schema::ErrorOut,
    extract::{ApiQuery, WorkspaceMember},
};
use crate::{
    app::AppState,
    chat::tool_cache::{CacheStats, ToolStats},
    error::ApiResult,
};

/// Routes of the tool cache.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cache_stats))
        .routes(routes!(cache_clear))
}

/// Cache figures of one tool.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCacheStatsOut {
    /// Cached results.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_rate: f64,
}

impl From<ToolStats> for ToolCacheStatsOut {
    fn from(t: ToolStats) -> Self {
        Self {
            entries: t.entries,
            hits: t.hits,
            misses: t.misses,
            hit_rate: t.hit_rate,
        }
    }
}

/// Tool result cache figures of the caller's workspace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheStatsOut {
    /// Cached results.
    pub entries: usize,
    /// Bytes they hold.
    pub bytes: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// hits / (hits + misses), 0 before any lookup.
    pub hit_rate: f64,
    /// Per tool name.
    pub by_tool: BTreeMap<String, ToolCacheStatsOut>,
}

impl From<CacheStats> for CacheStatsOut {
    fn from(s: CacheStats) -> Self {
        Self {
            entries: s.entries,
            bytes: s.bytes,
            hits: s.hits,
            misses: s.misses,
            hit_rate: s.hit_rate,
            by_tool: s.by_tool.into_iter().map(|(k, v)| (k, v.into())).collect(),
        }
    }
}

/// What a clear removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CacheClearedOut {
    /// Entries removed.
    pub cleared: usize,
    /// The tool cleared (`null` = every tool).
    pub tool: Option<String>,
}

/// Tool result cache stats of the caller's workspace: `{entries, bytes, hits, misses, hitRate,
/// byTool}`.
#[utoipa::path(get, path = "/skills/cache/stats", tag = "skills", security(("bearer" = [])),
    params(("X-Workspace-Id" = Option<String>, Header, description = "workspace (default: the caller's oldest)")),
    responses((status = 200, body = CacheStatsOut, description = "figures of this workspace"),
        (status = 400, body = ErrorOut), (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut, description = "not a member of the workspace")))]
async fn cache_stats(
    State(state): State<AppState>,
    member: WorkspaceMember,
) -> Json<CacheStatsOut> {
    Json(state.tool_cache.stats(&member.workspace_id).await.into())
}

/// `?tool=` limits clearing to one tool.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClearParams {
    /// Tool name; absent clears every entry.
    pub tool: Option<String>,
}

/// Clear the caller's workspace's cached tool results (all, or one tool).
#[utoipa::path(post, path = "/skills/cache/clear", tag = "skills", params(ClearParams,
        ("X-Workspace-Id" = Option<String>, Header, description = "workspace (default: the caller's oldest)")),
    security(("bearer" = [])),
    responses((status = 200, body = CacheClearedOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut),
        (status = 403, body = ErrorOut, description = "not a member of the workspace")))]
async fn cache_clear(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<ClearParams>,
) -> ApiResult<Json<CacheClearedOut>> {
    let tool = params.tool.filter(|t| !t.is_empty());
    let cleared = state
        .tool_cache
        .clear(&member.workspace_id, tool.as_deref())
        .await;
    Ok(Json(CacheClearedOut { cleared, tool }))
}
