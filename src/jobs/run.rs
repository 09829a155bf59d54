//! What each job type does. An attempt answers its result, or an error message that is stored
//! on the job (and shown to its creator, so it never carries secrets).
//!
//! Attempts may repeat (a lease that ran out, a process that died after the side effect but
//! before storing the outcome), so the side-effecting types carry the attempt's identity:
//! `http_request` sends `Idempotency-Key` (the job id, the same on every attempt) and
//! `X-Astra-Attempt-Id` ([`super::attempt_id`]); an `agent_run` turn is recorded under its
//! attempt id, and a later attempt that finds such a recorded turn answers its stored reply
//! instead of running the agent again.

use serde_json::{Map, Value, json};

use super::{AgentRunPayload, HttpRequestPayload, WebhookEmitPayload, attempt_id};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        events::{TurnReply, TurnUsage},
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
/// Messages read back when an `agent_run` attempt reuses a recorded turn (a turn writes one
/// assistant and one tool message per tool round, and rounds are capped far below this).
const RECORDED_MESSAGES: i64 = 500;

/// Header naming the attempt of an `http_request` job (`<jobId>:<n>`).
pub const ATTEMPT_HEADER: &str = "X-Astra-Attempt-Id";
/// Header a receiver de-duplicates on: the job id, the same on every attempt.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

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
    let payload = with_attempt_headers(payload, job);
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

/// Adds `Idempotency-Key: <jobId>` (unless the creator set their own, whose scope wins) and
/// `X-Astra-Attempt-Id: <jobId>:<n>` to the request headers.
fn with_attempt_headers(mut payload: Value, job: &JobRow) -> Value {
    let Some(body) = payload.as_object_mut() else {
        return payload;
    };
    let headers = body
        .entry("headers")
        .or_insert_with(|| Value::Object(Map::new()));
    if headers.is_null() {
        *headers = Value::Object(Map::new());
    }
    if let Some(headers) = headers.as_object_mut() {
        headers.retain(|name, _| !name.eq_ignore_ascii_case(ATTEMPT_HEADER));
        if !headers
            .keys()
            .any(|name| name.eq_ignore_ascii_case(IDEMPOTENCY_HEADER))
        {
            headers.insert(IDEMPOTENCY_HEADER.into(), Value::String(job.id.clone()));
        }
        headers.insert(
            ATTEMPT_HEADER.into(),
            Value::String(attempt_id(&job.id, job.attempts)),
        );
    }
    payload
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
    // An earlier attempt (or this one, handed back at shutdown) may have recorded its turn
    // and died before storing the outcome: answer that turn, do not run (and bill) another.
    if let Some(reply) = recorded_reply(state, job).await? {
        tracing::info!(job = %job.id, attempt = job.attempts, "agent_run: turn already recorded, reusing its reply");
        return Ok(reply);
    }
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
    // The attempt id becomes the turn's request id, stored on its trace in the turn's own
    // transaction: the marker `recorded_reply` looks for.
    let marker = Some(attempt_id(&job.id, job.attempts));
    let result = turn::run(&env, &member, &input, marker)
        .await
        .map_err(|e| e.public_message())?;
    match result {
        Ok(reply) => serde_json::to_value(reply).map_err(|e| e.to_string()),
        Err(failure) => Err(failure.message().to_string()),
    }
}

/// The reply of a turn an attempt of `job` (up to the current one) already recorded: the
/// newest `ok` trace carrying one of its attempt ids, with the assistant text the turn wrote.
async fn recorded_reply(state: &AppState, job: &JobRow) -> Result<Option<Value>, String> {
    let ids: Vec<String> = (1..=job.attempts).map(|n| attempt_id(&job.id, n)).collect();
    let db = |e: sqlx::Error| format!("database: {e}");
    let Some(trace) = state
        .store
        .traces()
        .ok_trace_of_requests(&job.workspace_id, job.created_at, &ids)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let Some(session_id) = trace.session_id.clone() else {
        return Ok(None);
    };
    let messages = state
        .store
        .sessions()
        .session_messages(&session_id, Some(trace.started_at), RECORDED_MESSAGES)
        .await
        .map_err(db)?;
    // The reply is all assistant text of the turn (every round), as the live turn folds it.
    let content: String = messages
        .iter()
        .filter(|m| m.role == "assistant" && !m.incomplete && m.created_at <= trace.finished_at)
        .map(|m| m.content.as_str())
        .collect();
    let detail = trace.detail.as_ref().map(|d| &d.0);
    let tools_used: Vec<String> = detail
        .and_then(|d| d.get("toolsUsed"))
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default();
    let mut usage = TurnUsage::default();
    usage.add(
        u64::try_from(trace.prompt_tokens).unwrap_or(0),
        u64::try_from(trace.completion_tokens).unwrap_or(0),
    );
    let reply = TurnReply {
        content,
        session_id,
        tools_used,
        usage,
    };
    serde_json::to_value(reply)
        .map(Some)
        .map_err(|e| e.to_string())
}
