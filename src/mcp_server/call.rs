//! `tools/call` of `ask_<agentId>`: the admission chain of `/agent/chat` (monthly token
//! budget, per-IP and per-user rates; membership was checked by the HTTP layer), then plan,
//! start and reply through the turn API.

use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ErrorData, JsonObject};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{McpCaller, TOOL_PREFIX, protocol_error, tools::runnable_agents};
use crate::{
    agents::AgentEnv,
    chat::{
        input::{ChatBody, ChatInput, Surface},
        turn::{self, TurnEnv},
    },
    error::ApiError,
    request_ctx,
};

/// The prefix of the fresh surface a call without `surfaceId` runs on.
const SURFACE_PREFIX: &str = "mcp-";

/// The arguments of an `ask_<agentId>` tool.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AskArgs {
    message: String,
    #[serde(default)]
    surface_id: Option<String>,
}

/// Runs the tool `params` names for `caller`: the reply text (and `{reply, agentId,
/// surfaceId, sessionId, traceId, toolsUsed}` as structured content), or an `isError` result
/// saying why the turn was refused or failed. A name that is not one of the caller's tools
/// is a JSON-RPC `-32602`.
pub async fn call_tool(
    env: &TurnEnv<'_>,
    caller: &McpCaller,
    params: CallToolRequestParams,
) -> Result<CallToolResult, ErrorData> {
    let run = run_tool(env, caller, params);
    match caller.request_id.clone() {
        Some(id) => request_ctx::scope(id, run).await,
        None => run.await,
    }
}

async fn run_tool(
    env: &TurnEnv<'_>,
    caller: &McpCaller,
    params: CallToolRequestParams,
) -> Result<CallToolResult, ErrorData> {
    let agents = AgentEnv {
        store: env.store,
        globals: env.globals,
        skills: env.skills,
        tools: env.tools,
        providers: env.providers,
        mcp: env.mcp,
    };
    let ws = &caller.member.workspace_id;
    let agent_id = params
        .name
        .strip_prefix(TOOL_PREFIX)
        .map(str::to_string)
        .unwrap_or_default();
    let runnable = runnable_agents(&agents, ws).await.map_err(protocol_error)?;
    if !runnable.contains(&agent_id) {
        return Err(unknown_tool(&params.name));
    }
    let input = match parse_input(&agent_id, params.arguments, env.config.allow_private_urls) {
        Ok(input) => input,
        Err(err) => return Ok(refused(err)),
    };
    let user = &caller.member.user;
    if let Err(err) = turn::check_budget(env, user, &input.message).await {
        return refusal_or_protocol(err);
    }
    if let Err(err) = turn::check_rates(env, caller.ip, user).await {
        return refusal_or_protocol(err);
    }
    let plan = match turn::plan(env, &caller.member, &input, caller.request_id.clone()).await {
        Ok(plan) => plan,
        Err(ApiError::NotFound(_)) => return Err(unknown_tool(&params.name)),
        Err(err) => return refusal_or_protocol(err),
    };
    let trace_id = plan.trace_id.clone();
    match turn::start(env, plan).reply().await {
        Ok(reply) => {
            let structured = json!({
                "reply": reply.content,
                "agentId": agent_id,
                "surfaceId": input.surface_id,
                "sessionId": reply.session_id,
                "traceId": trace_id,
                "toolsUsed": reply.tools_used,
            });
            let mut result = CallToolResult::success(vec![ContentBlock::text(reply.content)]);
            result.structured_content = Some(structured);
            Ok(result)
        }
        Err(failure) => Ok(error_result(&failure.body)),
    }
}

/// The turn input of a call: the message on surface `chat` of `surfaceId`, else of a fresh
/// surface `mcp-<uuid>`; lengths checked as on `/agent/chat`.
fn parse_input(
    agent_id: &str,
    arguments: Option<JsonObject>,
    allow_private: bool,
) -> Result<ChatInput, ApiError> {
    let args: AskArgs = serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| ApiError::field("arguments", e.to_string()))?;
    let surface_id = args
        .surface_id
        .unwrap_or_else(|| format!("{SURFACE_PREFIX}{}", uuid::Uuid::now_v7().simple()));
    ChatBody {
        message: args.message,
        agent_id: Some(agent_id.to_string()),
        surface: Some(Surface::Chat),
        surface_id: Some(surface_id),
        webhook_url: None,
    }
    .validate(false, allow_private)
}

/// A refusal the caller's model should read (`isError: true`), or the protocol error of an
/// internal failure.
fn refusal_or_protocol(err: ApiError) -> Result<CallToolResult, ErrorData> {
    match err {
        ApiError::Internal(_) | ApiError::DatabaseUnavailable => Err(protocol_error(err)),
        other => Ok(refused(other)),
    }
}

/// An error result carrying the refusal's code, message and details.
fn refused(err: ApiError) -> CallToolResult {
    error_result(&err.body())
}

/// `isError: true` with `CODE: message` as text and the error body as structured content.
fn error_result(body: &Value) -> CallToolResult {
    let code = body["code"].as_str().unwrap_or("INTERNAL");
    let message = body["message"].as_str().unwrap_or("the agent turn failed");
    let mut text = format!("{code}: {message}");
    if let Some(details) = body.get("details") {
        text.push_str(&format!(" {details}"));
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({ "error": body }));
    result
}

fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::invalid_params(format!("Unknown tool: {name}"), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Option<JsonObject> {
        match value {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    #[test]
    fn a_call_without_surface_runs_on_a_fresh_one() {
        let input = parse_input("chad", args(json!({"message": "hi"})), false).unwrap();
        assert_eq!(input.message, "hi");
        assert_eq!(input.agent_id, "chad");
        assert!(input.surface_id.starts_with(SURFACE_PREFIX));
        let named = parse_input(
            "chad",
            args(json!({"message": "hi", "surfaceId": "s1"})),
            false,
        )
        .unwrap();
        assert_eq!(named.surface_id, "s1");
    }

    #[test]
    fn bad_arguments_are_refusals_naming_the_problem() {
        for bad in [json!({}), json!({"message": ""}), json!({"message": 3})] {
            let err = parse_input("chad", args(bad.clone()), false).unwrap_err();
            let result = refused(err);
            assert_eq!(result.is_error, Some(true), "{bad}");
            let text = result.content[0].as_text().unwrap().text.clone();
            assert!(text.starts_with("VALIDATION_ERROR"), "{text}");
        }
    }
}
