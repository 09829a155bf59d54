//! Tools the agent loop can offer to a model: the [`Tool`] trait, the context a
//! call runs in, its errors, the [`ToolRegistry`] and the built-in tools.

mod calculator;
mod current_time;
mod expr;
mod fetch_page;
mod html;
mod http_request;
mod http_util;
mod memory_search;
mod memory_write;
mod profile_update;
#[cfg(test)]
mod prop;
mod registry;
mod web_search;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;

pub use crate::config::tools::{
    FetchLimits, SearchBackend, ToolsConfig, ToolsConfigError, WebSearchConfig,
};
pub use calculator::Calculator;
pub use current_time::CurrentTime;
pub use expr::{ExprError, evaluate};
pub use fetch_page::FetchPage;
pub use http_request::HttpRequest;
pub use memory_search::MemorySearch;
pub use memory_write::MemoryWrite;
pub use profile_update::ProfileUpdate;
pub use registry::ToolRegistry;
pub use web_search::WebSearch;

/// A capability the model can call: named, described by a JSON schema, executed
/// by the gateway.
#[async_trait]
pub trait Tool: Send + Sync {
    /// Stable snake_case name the model calls the tool by.
    fn name(&self) -> &str;
    /// One or two sentences telling the model when to use the tool.
    fn description(&self) -> &str;
    /// JSON schema (an `object`) of the arguments.
    fn parameters(&self) -> serde_json::Value;
    /// Whether identical arguments may be answered from a cache.
    fn cacheable(&self) -> bool;
    /// Rough cost of one call in USD, for budgets and reports.
    fn estimated_cost(&self) -> f64;
    /// Whether the tool can be offered to models now. Tools that are registered
    /// for discovery but lack configuration or a backing service say `false`.
    fn available(&self) -> bool {
        true
    }
    /// Runs the tool.
    async fn execute(
        &self,
        ctx: &ToolContext,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, ToolError>;
}

/// Who a tool call runs for. Cheap to clone: the ids are shared strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolContext {
    /// The calling user.
    pub user_id: Arc<str>,
    /// The workspace the call is made in.
    pub workspace_id: Arc<str>,
    /// The chat session, when the call comes from one.
    pub session_id: Option<Arc<str>>,
    /// The agent whose turn issued the call.
    pub agent_id: Arc<str>,
}

impl ToolContext {
    /// Builds a context from the ids of the current turn.
    pub fn new(
        user_id: impl Into<Arc<str>>,
        workspace_id: impl Into<Arc<str>>,
        session_id: Option<String>,
        agent_id: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            user_id: user_id.into(),
            workspace_id: workspace_id.into(),
            session_id: session_id.map(Arc::from),
            agent_id: agent_id.into(),
        }
    }
}

/// Why a tool call did not produce a result. The message is shown to the model,
/// so it must not contain secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not match the schema or make no sense.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool ran and failed, or is not available.
    #[error("tool failed: {0}")]
    Failed(String),
    /// The tool did not finish within its time limit.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The outbound URL guard refused the destination.
    #[error("blocked: {0}")]
    Blocked(String),
}

impl ToolError {
    /// Stable snake_case label for metrics and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Failed(_) => "failed",
            Self::Timeout(_) => "timeout",
            Self::Blocked(_) => "blocked",
        }
    }
}

/// Deserialises tool arguments, turning schema mismatches into
/// [`ToolError::InvalidArguments`] the model can act on.
fn parse_args<T: DeserializeOwned>(args: serde_json::Value) -> Result<T, ToolError> {
    // Models sometimes send `null` for a tool without required fields.
    let args = if args.is_null() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// What a memory tool answers when it was declared without a store (a registry built
/// outside the application); such a tool is not offered, so only a call by name sees this.
fn memory_disabled() -> ToolError {
    ToolError::Failed("memory is not enabled".into())
}

/// The memory a call works on: the calling user's, in the workspace of the call.
fn memory_owner(ctx: &ToolContext) -> crate::memory::Owner<'_> {
    crate::memory::Owner {
        user_id: &ctx.user_id,
        workspace_id: &ctx.workspace_id,
    }
}

/// Validation problems go back to the model as invalid arguments; anything else is logged
/// and reported without detail.
fn memory_failure(err: crate::error::ApiError) -> ToolError {
    match err {
        crate::error::ApiError::Validation { message, .. } => ToolError::InvalidArguments(message),
        other => {
            tracing::warn!(error = %other, "memory tool failed");
            ToolError::Failed("memory is unavailable right now".into())
        }
    }
}
