//! Astra as an MCP server: every agent a caller may run is one MCP tool, `ask_<agentId>`
//! (input `{message, surfaceId?}`), and calling it runs one full turn through the turn API
//! ([`crate::chat::turn`]) exactly as `/agent/chat` does — budget, rates, quotas, restrictions,
//! recording, costs and traces — and answers the reply text.
//!
//! The protocol types are the official SDK's (`rmcp::model`); the transport (streamable HTTP,
//! stateless) and the caller's credentials and workspace are the HTTP layer's (`POST /mcp`),
//! which hands each request's [`McpCaller`] to [`list_tools`] and [`call_tool`].
//!
//! Errors: a tool name that is not one of the caller's listed tools is a JSON-RPC
//! `-32602` (invalid params); bad arguments, refusals (budget, rate, quota, restriction) and
//! failed turns are tool results with `isError: true` and the reason as text, so the calling
//! model can read them; only an internal failure is a JSON-RPC `-32603`.

mod call;
mod tools;

use std::net::IpAddr;

use rmcp::model::{ErrorData, Implementation, ServerCapabilities, ServerConfig};

pub use call::call_tool;
pub use tools::{TOOL_PREFIX, list_tools};

use crate::{error::ApiError, workspaces::WorkspaceMember};

/// Who makes an MCP request, resolved by the HTTP layer before the message is read.
#[derive(Debug, Clone)]
pub struct McpCaller {
    /// The authenticated caller (JWT or API key) in the workspace of the request
    /// (`X-Workspace-Id`, else the key's workspace or the caller's oldest).
    pub member: WorkspaceMember,
    /// The client address, for the per-IP chat rate.
    pub ip: IpAddr,
    /// `X-Request-ID` of the HTTP request, quoted by the turn's logs and trace.
    pub request_id: Option<String>,
}

/// What `initialize` answers: tools only (no resources, prompts or server-initiated
/// messages), the server's name and version, and how to use the tools.
pub fn server_config() -> ServerConfig {
    ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        .with_server_info(Implementation::new("astra", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "Each tool ask_<agentId> sends a message to that Astra agent and returns its reply. \
             The agent runs a full turn with its own prompt, tools and memory. Without \
             surfaceId every call starts a new conversation; pass the surfaceId of an \
             earlier result to continue it.",
        )
}

/// The JSON-RPC error of a failure that is not the tool's: an internal failure (or an
/// unavailable database) is `-32603` with an opaque message, anything else `-32602`.
pub fn protocol_error(err: ApiError) -> ErrorData {
    match err {
        ApiError::Internal(cause) => {
            tracing::error!(error = ?cause, "mcp: internal error");
            ErrorData::internal_error("Internal server error", None)
        }
        ApiError::DatabaseUnavailable => ErrorData::internal_error(err.public_message(), None),
        other => ErrorData::invalid_params(other.public_message(), None),
    }
}
