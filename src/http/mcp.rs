//! `POST /mcp` — Astra as an MCP server over the streamable HTTP transport, stateless.
//!
//! The transport is the official SDK's (`rmcp`'s `StreamableHttpService`, stateless, JSON
//! answers) called from an axum handler: the handler authenticates the caller (JWT or an
//! API key with `chat`, refused with 401/403 before any MCP message is read), resolves the
//! workspace as `/v1` does (`X-Workspace-Id`, else the key's workspace or the caller's
//! oldest) and the client address, and leaves them in the request as an
//! [`McpCaller`]; the SDK parses the JSON-RPC message and calls [`AstraMcp`], which reads the
//! caller back from the HTTP parts the SDK hands it and calls the domain
//! ([`crate::mcp_server`]). No server-initiated stream and no sessions: `GET` and `DELETE`
//! are 405.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, header},
    response::Response,
};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, ListToolsResult, PaginatedRequestParams,
        ServerConfig,
    },
    service::RequestContext,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService,
        streamable_http_server::session::never::NeverSessionManager,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{BODY_LIMIT, client_ip::ClientIp, error_schema::ErrorOut, request_id};
use crate::{
    agents::AgentEnv,
    app::AppState,
    auth::AuthUser,
    chat::turn::TurnEnv,
    error::ApiError,
    mcp_server::{self, McpCaller},
    workspaces::WorkspaceMember,
};

/// The route path.
pub const PATH: &str = "/mcp";

/// Routes of the MCP server group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mcp))
}

/// A JSON-RPC 2.0 message from the client (`initialize`, `tools/list`, `tools/call`, `ping`,
/// or a notification), as the MCP specification defines it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct McpMessageIn {
    /// `"2.0"`.
    pub jsonrpc: String,
    /// Request id; absent for a notification.
    pub id: Option<Value>,
    /// `initialize`, `tools/list`, `tools/call`, `ping`, `notifications/initialized`, …
    pub method: String,
    /// The method's parameters (`tools/call`: `{name: "ask_<agentId>", arguments: {message,
    /// surfaceId?}}`).
    pub params: Option<Value>,
}

/// The JSON-RPC 2.0 answer to a request: `result` (`tools/call`: `{content: [{type: "text",
/// text}], structuredContent: {reply, agentId, surfaceId, sessionId, traceId, toolsUsed},
/// isError}`), or `error` (`-32602` for an unknown tool, `-32603` for an internal failure).
#[derive(Debug, Serialize, ToSchema)]
pub struct McpMessageOut {
    /// `"2.0"`.
    pub jsonrpc: String,
    /// The request's id (`null` when the message could not be read).
    pub id: Value,
    /// The method's result.
    pub result: Option<Value>,
    /// `{code, message, data?}`.
    pub error: Option<Value>,
}

/// The MCP endpoint (streamable HTTP, stateless): `tools/list` lists `ask_<agentId>` for every
/// agent the caller may run; `tools/call` runs one turn as `/agent/chat` does and answers the
/// reply. Send `Accept: application/json, text/event-stream`; a notification is answered
/// 202 with no body.
#[utoipa::path(post, path = "/mcp", tag = "mcp", request_body = McpMessageIn,
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, description = "the JSON-RPC answer (unknown tools and refused or failed turns included)",
                content((McpMessageOut = "application/json"), (String = "text/event-stream"))),
              (status = 202, content_type = "text/plain", body = String, description = "a notification, accepted (empty body)"),
              (status = 400, description = "not a JSON-RPC message, or an unsupported MCP-Protocol-Version",
                content((McpMessageOut = "application/json"), (String = "text/plain"))),
              (status = 401, body = ErrorOut, description = "missing or bad credentials"),
              (status = 403, body = ErrorOut, description = "not a member of the workspace, or a key without `chat`"),
              (status = 404, body = McpMessageOut, description = "an unknown method (protocol 2026-07-28 requests)"),
              (status = 406, content_type = "text/plain", body = String, description = "Accept lacks application/json and text/event-stream"),
              (status = 413, content_type = "text/plain", body = String, description = "body over 1 MiB"),
              (status = 415, content_type = "text/plain", body = String, description = "Content-Type is not application/json")))]
async fn mcp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    mut req: Request,
) -> Result<Response, ApiError> {
    let member = WorkspaceMember::resolve(&state, req.headers(), user).await?;
    req.extensions_mut().insert(McpCaller {
        member,
        ip,
        request_id: request_id::current(),
    });
    let service = StreamableHttpService::new(
        {
            let state = state.clone();
            move || Ok(AstraMcp(state.clone()))
        },
        NeverSessionManager::default().into(),
        transport_config(),
    );
    let response = match service.oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let mut response = response.map(Body::new);
    // The SDK's plain-text refusals (406, 413, 415, some 400s) and its empty 202 carry no
    // Content-Type; say what they are.
    response
        .headers_mut()
        .entry(header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("text/plain; charset=utf-8"));
    Ok(response)
}

/// Stateless, JSON answers, our body limit. The `Host` allow-list (a defence of unauthenticated
/// local servers against DNS rebinding) is off: every request carries a bearer credential a
/// rebinding page cannot have, and the gateway is served under any host name.
fn transport_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(BODY_LIMIT)
        .disable_allowed_hosts()
}

/// The MCP server the SDK calls for each request.
#[derive(Clone)]
pub struct AstraMcp(AppState);

impl AstraMcp {
    /// The caller the handler left in the request's HTTP parts.
    fn caller(ctx: &RequestContext<RoleServer>) -> Result<McpCaller, ErrorData> {
        ctx.extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpCaller>())
            .cloned()
            .ok_or_else(|| ErrorData::internal_error("no caller in the request", None))
    }
}

impl ServerHandler for AstraMcp {
    fn get_info(&self) -> ServerConfig {
        mcp_server::server_config()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = Self::caller(&ctx)?;
        mcp_server::list_tools(&AgentEnv::from(&self.0), &caller.member.workspace_id)
            .await
            .map_err(mcp_server::protocol_error)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = Self::caller(&ctx)?;
        mcp_server::call_tool(&TurnEnv::from(&self.0), &caller, request)
            .await
            .map(CallToolResponse::from)
    }
}
