//! Route group 10, cache part: `/skills/cache/*` — tool result cache stats and clearing.

use axum::{Json, extract::State};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::extract::ApiQuery;
use crate::{app::AppState, auth::AuthUser, error::ApiResult};

/// Routes of the tool cache.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(cache_stats))
        .routes(routes!(cache_clear))
}

/// Tool result cache stats: `{entries, hits, misses, hitRate, byTool}`.
#[utoipa::path(get, path = "/skills/cache/stats", tag = "skills", security(("bearer" = [])),
    responses((status = 200, description = "{entries, hits, misses, hitRate, byTool}")))]
async fn cache_stats(State(state): State<AppState>, _user: AuthUser) -> Json<Value> {
    Json(state.tool_cache.stats())
}

/// `?tool=` limits clearing to one tool.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClearParams {
    /// Tool name; absent clears every entry.
    pub tool: Option<String>,
}

/// Clear the tool result cache (all, or one tool).
#[utoipa::path(post, path = "/skills/cache/clear", tag = "skills", params(ClearParams),
    security(("bearer" = [])), responses((status = 200, description = "{cleared}")))]
async fn cache_clear(
    State(state): State<AppState>,
    _user: AuthUser,
    ApiQuery(params): ApiQuery<ClearParams>,
) -> ApiResult<Json<Value>> {
    let tool = params.tool.as_deref().filter(|t| !t.is_empty());
    let cleared = state.tool_cache.clear(tool);
    Ok(Json(json!({ "cleared": cleared, "tool": tool })))
}
