//! Route group 10, cache part: `/skills/cache/*` — tool result cache stats and clearing.
//!
//! Both routes act on the caller's workspace (`X-Workspace-Id`, else their oldest) only:
//! one workspace never sees or clears another's cached results.

use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::ApiQuery;
use super::extract::WorkspaceMember;
use crate::{app::AppState, error::ApiResult};

/// Routes of the tool cache.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cache_stats))
        .routes(routes!(cache_clear))
}

/// Tool result cache stats of the caller's workspace: `{entries, bytes, hits, misses, hitRate,
/// byTool}`.
#[utoipa::path(get, path = "/skills/cache/stats", tag = "skills", security(("bearer" = [])),
    params(("X-Workspace-Id" = Option<String>, Header, description = "workspace (default: the caller's oldest)")),
    responses((status = 200, description = "{entries, bytes, hits, misses, hitRate, byTool} of this workspace"),
        (status = 403, description = "not a member of the workspace")))]
async fn cache_stats(State(state): State<AppState>, member: WorkspaceMember) -> Json<Value> {
    Json(state.tool_cache.stats(&member.workspace_id))
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
    security(("bearer" = [])), responses((status = 200, description = "{cleared, tool}"),
        (status = 403, description = "not a member of the workspace")))]
async fn cache_clear(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<ClearParams>,
) -> ApiResult<Json<Value>> {
    let tool = params.tool.as_deref().filter(|t| !t.is_empty());
    let cleared = state.tool_cache.clear(&member.workspace_id, tool);
    Ok(Json(json!({ "cleared": cleared, "tool": tool })))
}
