//! `tools/list`: one tool per agent the caller may run in the workspace — own and global
//! agents, then agents of accepted, unexpired grants (the set `/v1/models` lists).

use std::sync::Arc;

use chrono::Utc;
use rmcp::model::{CacheScope, JsonObject, ListToolsResult, Tool, ToolAnnotations};
use serde_json::json;

use crate::{
    agents::{AgentEnv, resolve_agent},
    chat::openai::{self, AGENT_PREFIX},
    error::{ApiError, ApiResult},
};

/// The prefix of every tool name: `ask_<agentId>`.
pub const TOOL_PREFIX: &str = "ask_";

/// The ids of the agents a member of `ws` may run, in listing order.
pub(super) async fn runnable_agents(env: &AgentEnv<'_>, ws: &str) -> ApiResult<Vec<String>> {
    Ok(openai::models(env, ws, Utc::now())
        .await?
        .into_iter()
        .filter_map(|m| m.id.strip_prefix(AGENT_PREFIX).map(str::to_string))
        .collect())
}

/// The tools of a member of `ws`: `ask_<agentId>` for every agent it may run, described by
/// the agent's display name. An agent that no longer resolves (a grant whose agent was just
/// deleted) is left out. The list is the caller's own: cacheable privately only.
pub async fn list_tools(env: &AgentEnv<'_>, ws: &str) -> ApiResult<ListToolsResult> {
    let now = Utc::now();
    let mut tools = Vec::new();
    for id in runnable_agents(env, ws).await? {
        let agent = match resolve_agent(env.store, env.globals, ws, &id, now).await {
            Ok(agent) => agent,
            Err(ApiError::NotFound(_) | ApiError::Forbidden(_)) => continue,
            Err(other) => return Err(other),
        };
        tools.push(agent_tool(&id, &agent.config.display_name));
    }
    Ok(ListToolsResult::with_all_items(tools).with_cache_scope(CacheScope::Private))
}

/// The tool of one agent.
fn agent_tool(id: &str, display_name: &str) -> Tool {
    let description = format!(
        "Ask the Astra agent \"{display_name}\" ({id}): sends `message` as the user, runs one \
         full turn of the agent (its prompt, skills, tools and memory) and returns its reply. \
         Without `surfaceId` every call is a new conversation; pass the `surfaceId` of an \
         earlier result to continue that one."
    );
    Tool::new(
        format!("{TOOL_PREFIX}{id}"),
        description,
        Arc::new(input_schema()),
    )
    .with_title(display_name.to_string())
    .with_raw_output_schema(Arc::new(output_schema()))
    .with_annotations(
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .idempotent(false)
            .open_world(true),
    )
}

/// `{message: string, surfaceId?: string}`.
fn input_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1, "maxLength": 10000,
                        "description": "What to say to the agent."},
            "surfaceId": {"type": "string", "minLength": 1, "maxLength": 128,
                          "description": "A conversation to continue: the surfaceId of an earlier result."}
        },
        "required": ["message"]
    }))
}

/// The structured result of a successful call (its text content is the reply alone).
fn output_schema() -> JsonObject {
    object(json!({
        "type": "object",
        "properties": {
            "reply": {"type": "string", "description": "The agent's reply."},
            "agentId": {"type": "string"},
            "surfaceId": {"type": "string", "description": "Pass it back to continue this conversation."},
            "sessionId": {"type": "string"},
            "traceId": {"type": "string"},
            "toolsUsed": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["reply", "agentId", "surfaceId", "sessionId", "traceId", "toolsUsed"]
    }))
}

fn object(value: serde_json::Value) -> JsonObject {
    match value {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_named_after_its_agent_and_takes_a_message() {
        let tool = agent_tool("chad", "Chad");
        assert_eq!(tool.name, "ask_chad");
        assert_eq!(tool.title.as_deref(), Some("Chad"));
        assert!(
            tool.description
                .as_deref()
                .unwrap_or_default()
                .contains("Chad")
        );
        assert_eq!(tool.input_schema["required"], json!(["message"]));
        assert_eq!(
            tool.input_schema["properties"]["surfaceId"]["type"],
            "string"
        );
    }
}
