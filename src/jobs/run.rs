//! What each job type does. An attempt answers its result, or an error message that is stored
//! on the job (and shown to its creator, so it never carries secrets).

use serde_json::{Value, json};

use super::{AgentRunPayload, HttpRequestPayload, WebhookEmitPayload};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        input::{ChatInput, Surface},
        turn::{self, TurnEnv},
    },
    store::JobRow,
    tools::ToolContext,
    validate::from_value,
    workspaces::{Role, WorkspaceMember},
};

/// Characters of a response body kept in an `http_request` job's result.
const BODY_EXCERPT: usize = 2000;

/// Runs one attempt of `job`.
pub async fn execute(state: &AppState, job: &JobRow) -> Result<Value, String> {
    let payload = job.payload.0.clone();
    match job.job_type.as_str() {
        "http_request" => http_request(state, job, payload).await,
        "agent_run" => agent_run(state, job, payload).await,
        "webhook_emit" => {
            let p: WebhookEmitPayload = from_value(payload).map_err(|e| e.to_string())?;
            let queued = crate::webhooks::emit(
                &state.store,
                &job.user_id,
                Some(&job.workspace_id),
                &p.event,
                p.data,
            )
            .await
            .map_err(|e| format!("could not queue the event: {e}"))?;
            Ok(json!({ "event": p.event, "deliveries": queued }))
        }
        "noop" => Ok(json!({ "ok": true })),
        other => Err(format!("unknown job type {other:?}")),
    }
}

/// Sends the request with the `http_request` tool (guard, header rules, size caps); a
/// non-2xx answer fails the attempt, so it is retried.
async fn http_request(state: &AppState, job: &JobRow, payload: Value) -> Result<Value, String> {
    // Parsed first so a bad stored payload fails with a clear message.
    let _: HttpRequestPayload = from_value(payload.clone()).map_err(|e| e.to_string())?;
    let tool = state
        .tools
        .get("http_request")
        .ok_or_else(|| "the http_request tool is not registered".to_string())?;
    let ctx = ToolContext::new(
        job.user_id.as_str(),
        job.workspace_id.as_str(),
        None,
        "jobs",
    );
    let out = tool
        .execute(&ctx, payload)
        .await
        .map_err(|e| e.to_string())?;
    let status = out["status"].as_u64().unwrap_or(0);
    let mut body = out["body"].as_str().unwrap_or_default().to_string();
    let mut truncated = out["truncated"].as_bool().unwrap_or(false);
    if let Some((cut, _)) = body.char_indices().nth(BODY_EXCERPT) {
        body.truncate(cut);
        truncated = true;
    }
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}: {}", excerpt(&body, 200)));
    }
    Ok(json!({ "status": status, "body": body, "truncated": truncated }))
}

fn excerpt(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// One agent turn for the job's creator in the job's workspace, through the same turn API
/// as `/agent/chat`.
async fn agent_run(state: &AppState, job: &JobRow, payload: Value) -> Result<Value, String> {
    let p: AgentRunPayload = from_value(payload).map_err(|e| e.to_string())?;
    let role = state
        .store
        .workspaces()
        .member_role(&job.workspace_id, &job.user_id)
        .await
        .map_err(|e| format!("database: {e}"))?
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| "the job's creator is no longer a member of the workspace".to_string())?;
    let env = TurnEnv::from(state);
    let user = AuthUser::user(job.user_id.clone());
    // Jobs spend the creator's monthly token budget like chat does.
    turn::check_budget(&env, &user, &p.message)
        .await
        .map_err(|e| e.public_message())?;
    let member = WorkspaceMember {
        user,
        workspace_id: job.workspace_id.clone(),
        role,
    };
    let input = ChatInput {
        message: p.message,
        agent_id: p.agent_id,
        surface: Surface::Chat,
        // One conversation per job: retries continue it, other chats stay untouched.
        surface_id: job.id.clone(),
        webhook_url: None,
        client: Default::default(),
    };
    // When this attempt times out (and this future is dropped), the turn is cancelled and
    // still records what it did.
    let result = turn::run(&env, &member, &input, None)
        .await
        .map_err(|e| e.public_message())?;
    match result {
        Ok(reply) => serde_json::to_value(reply).map_err(|e| e.to_string()),
        Err(failure) => Err(failure.message().to_string()),
    }
}
