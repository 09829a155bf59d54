//! Executing a round of tool calls: in parallel, each with a timeout, through the result
//! cache when the tool allows it. A failing tool yields an error result for the model; it
//! never fails the turn.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{events::ChatEvent, runtime::TurnRuntime};
use crate::{
    providers::ToolCall,
    tools::{ToolContext, ToolError},
};

/// The result of one call.
#[derive(Debug, Clone)]
pub struct ToolOutcome {
    /// The call answered.
    pub call: ToolCall,
    /// The text fed back to the model (JSON).
    pub content: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Error message when the call failed.
    pub error: Option<String>,
    /// True when served from the cache.
    pub cached: bool,
    /// When the call started (for the trace's timeline).
    pub started_at: DateTime<Utc>,
}

/// Runs every call of a round concurrently; results come back in call order, and each
/// `tool_result` event is sent as soon as its call finishes.
pub async fn execute_round(
    rt: &TurnRuntime,
    ctx: &ToolContext,
    offered: &[String],
    calls: &[ToolCall],
    timeout: Duration,
    events: &mpsc::Sender<ChatEvent>,
) -> Vec<ToolOutcome> {
    join_all(calls.iter().map(|call| async move {
        let outcome = execute_one(rt, ctx, offered, call, timeout).await;
        crate::observability::tool_call(
            &call.name,
            offered,
            outcome.error.is_none(),
            outcome.cached,
            outcome.duration_ms,
        );
        let _ = events
            .send(ChatEvent::ToolResult {
                name: call.name.clone(),
                duration_ms: outcome.duration_ms,
                error: outcome.error.clone(),
            })
            .await;
        outcome
    }))
    .await
}

async fn execute_one(
    rt: &TurnRuntime,
    ctx: &ToolContext,
    offered: &[String],
    call: &ToolCall,
    timeout: Duration,
) -> ToolOutcome {
    let (started, started_at) = (Instant::now(), Utc::now());
    let result = run(rt, ctx, offered, call, timeout).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok((value, cached)) => ToolOutcome {
            call: call.clone(),
            content: value.to_string(),
            duration_ms,
            error: None,
            cached,
            started_at,
        },
        Err(err) => {
            let message = err.to_string();
            tracing::info!(tool = %call.name, error = %message, "tool call failed");
            ToolOutcome {
                call: call.clone(),
                content: json!({ "error": message }).to_string(),
                duration_ms,
                error: Some(message),
                cached: false,
                started_at,
            }
        }
    }
}

async fn run(
    rt: &TurnRuntime,
    ctx: &ToolContext,
    offered: &[String],
    call: &ToolCall,
    timeout: Duration,
) -> Result<(Value, bool), ToolError> {
    if !offered.iter().any(|n| n == &call.name) {
        return Err(ToolError::InvalidArguments(format!(
            "unknown tool {:?}",
            call.name
        )));
    }
    let tool = rt
        .tools
        .get(&call.name)
        .ok_or_else(|| ToolError::Failed(format!("tool {:?} is not registered", call.name)))?;
    let args: Value = if call.arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&call.arguments)
            .map_err(|e| ToolError::InvalidArguments(format!("arguments are not JSON: {e}")))?
    };
    let cacheable = tool.cacheable();
    if cacheable
        && let Some(hit) = rt
            .tool_cache
            .get(&ctx.workspace_id, &call.name, &args)
            .await
    {
        return Ok((hit, true));
    }
    let value = tokio::time::timeout(timeout, tool.execute(ctx, args.clone()))
        .await
        .map_err(|_| ToolError::Timeout(timeout))??;
    if cacheable {
        rt.tool_cache
            .put(&ctx.workspace_id, &call.name, &args, value.clone())
            .await;
    }
    Ok((value, false))
}
