//! `/mcp-servers` — the workspace's remote MCP servers (streamable HTTP), whose tools its
//! agents may call as `mcp__<id>__<tool>` or through the skill `mcp:<id>`. Owners and admins
//! write; every member reads. Headers are write-only: responses carry their names only.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    app::AppState,
    error::ApiResult,
    mcp::{
        RemoteTool,
        workspace::{self, McpServerIn},
    },
    store::McpServerRow,
};

/// Routes of the MCP-servers group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_server, list_servers))
        .routes(routes!(get_server, update_server, delete_server))
        .routes(routes!(refresh_server))
}

/// A workspace MCP server (header values are never returned).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpServerOut {
    /// Id, unique in the workspace; tools are named `mcp__<id>__<tool>`.
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Always `http` (streamable HTTP).
    pub transport: String,
    /// Endpoint.
    pub url: String,
    /// Names of the stored headers (their values are write-only).
    pub header_names: Vec<String>,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<McpServerRow> for McpServerOut {
    fn from(r: McpServerRow) -> Self {
        Self {
            header_names: serde_json::from_str(&r.header_names).unwrap_or_default(),
            id: r.id,
            workspace_id: r.workspace_id,
            transport: "http".into(),
            url: r.url,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A tool a server offers, under the name agents use.
#[derive(Debug, Serialize, ToSchema)]
pub struct McpToolOut {
    /// `mcp__<server>__<tool>`.
    pub name: String,
    /// The tool's name on the server.
    pub remote: String,
    /// What the tool does.
    pub description: String,
    /// JSON schema of its arguments.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
}

impl From<RemoteTool> for McpToolOut {
    fn from(t: RemoteTool) -> Self {
        Self {
            name: t.name,
            remote: t.remote,
            description: t.description,
            parameters: t.parameters,
        }
    }
}

/// The outcome of `POST /mcp-servers/{id}/refresh`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct McpRefreshOut {
    /// The server.
    pub server_id: String,
    /// Whether `tools/list` answered.
    pub ok: bool,
    /// The tools listed (empty when `ok` is false).
    pub tools: Vec<McpToolOut>,
    /// Why the server could not be listed, when `ok` is false.
    pub error: Option<String>,
}

/// Add a remote MCP server to the workspace (owner/admin). The URL goes through the
/// outbound guard; headers are encrypted at rest and never returned.
#[utoipa::path(post, path = "/mcp-servers", tag = "mcp", request_body = McpServerIn,
    security(("bearer" = [])),
    responses((status = 201, body = McpServerOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 409, body = ErrorOut)))]
async fn create_server(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<McpServerIn>,
) -> ApiResult<(StatusCode, Json<McpServerOut>)> {
    member.require_manager()?;
    let row = workspace::create(&state.mcp, &member.workspace_id, &member.user.id, body).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// List the workspace's MCP servers by id (any member).
#[utoipa::path(get, path = "/mcp-servers", tag = "mcp", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<McpServerOut>), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_servers(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<McpServerOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) =
        workspace::list(&state.mcp, &member.workspace_id, page.limit, page.offset).await?;
    let items = rows.into_iter().map(McpServerOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// One MCP server of the workspace (any member).
#[utoipa::path(get, path = "/mcp-servers/{id}", tag = "mcp", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = McpServerOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn get_server(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<McpServerOut>> {
    let row = workspace::get(&state.mcp, &member.workspace_id, &id).await?;
    Ok(Json(row.into()))
}

/// Replace a server's URL, and its headers when `headers` is given (owner/admin).
#[utoipa::path(put, path = "/mcp-servers/{id}", tag = "mcp", params(("id" = String, Path)),
    request_body = McpServerIn, security(("bearer" = [])),
    responses((status = 200, body = McpServerOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut),
        (status = 404, body = ErrorOut)))]
async fn update_server(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<McpServerIn>,
) -> ApiResult<Json<McpServerOut>> {
    member.require_manager()?;
    let row =
        workspace::update(&state.mcp, &member.workspace_id, &member.user.id, &id, body).await?;
    Ok(Json(row.into()))
}

/// Remove a server (owner/admin); agents naming its tools no longer get them.
#[utoipa::path(delete, path = "/mcp-servers/{id}", tag = "mcp", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_server(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    member.require_manager()?;
    workspace::delete(&state.mcp, &member.workspace_id, &member.user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Connect to a server (the workspace's, or a gateway server by its id) and list its tools
/// again (owner/admin). An unreachable server is `ok: false` with the reason.
#[utoipa::path(post, path = "/mcp-servers/{id}/refresh", tag = "mcp", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = McpRefreshOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn refresh_server(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<McpRefreshOut>> {
    member.require_manager()?;
    let listed = workspace::refresh(&state.mcp, &member.workspace_id, &id).await?;
    Ok(Json(match listed {
        Ok(tools) => McpRefreshOut {
            server_id: id,
            ok: true,
            tools: tools.into_iter().map(McpToolOut::from).collect(),
            error: None,
        },
        Err(error) => McpRefreshOut {
            server_id: id,
            ok: false,
            tools: Vec::new(),
            error: Some(error),
        },
    }))
}
