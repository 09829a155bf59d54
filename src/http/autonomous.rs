//! Route group 15: `/autonomous/*` — backend services run agent turns on behalf of users.
//! Internal API key; 60 requests per minute.
//!
//! A run is a chat turn exactly as `/agent/chat` runs it (budget, agent resolution,
//! restrictions, quotas, session, the same event stream folded into the same reply), for a
//! user named in the body instead of a bearer token, on the `prop` surface by default.

use std::collections::HashSet;

use axum::{
    Json,
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    chat::run_to_reply,
    extract::{ApiJson, InternalKey, WorkspaceMember},
    request_id,
    validate::{Problems, length_between},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        admit::{check_budget, plan_turn},
        input::{ChatBody, ChatInput, Surface},
    },
    error::{ApiError, ApiResult},
    workspaces::Role,
};

/// Requests per minute allowed on the autonomous routes.
pub const RATE_PER_MINUTE: u32 = 60;
/// Most users in one batch.
const MAX_BATCH: usize = 50;
/// Turns of a batch running at once.
const BATCH_CONCURRENCY: usize = 4;

/// Routes of the autonomous group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(run))
        .routes(routes!(batch))
}

/// The internal key, counted against the rate limit before the body is read.
pub struct AutonomousCaller;

impl FromRequestParts<AppState> for AutonomousCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        InternalKey::from_request_parts(parts, state).await?;
        // There is one internal key, so it is the limiter's only bucket.
        if let Some(d) = state.autonomous_limiter.check("internal-api-key")
            && !d.allowed
        {
            return Err(ApiError::RateLimit {
                retry_after: d.reset_secs,
            });
        }
        Ok(Self)
    }
}

/// One run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunIn {
    /// The user the agent works for.
    pub uid: String,
    /// Default `chad`.
    pub agent_id: Option<String>,
    /// The task, 1–10 000 characters (the user message of the turn).
    pub task_message: String,
    /// A workspace of the user (default: their oldest).
    pub workspace_id: Option<String>,
    /// Default `prop`.
    pub surface: Option<Surface>,
    /// Default `main`.
    pub surface_id: Option<String>,
}

/// Many users, one task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchIn {
    /// 1–50 distinct user ids.
    pub uids: Vec<String>,
    /// Default `chad`.
    pub agent_id: Option<String>,
    /// The task, 1–10 000 characters.
    pub task_message: String,
    /// Default `prop`.
    pub surface: Option<Surface>,
    /// Default `main`.
    pub surface_id: Option<String>,
}

/// Why a run produced no reply.
enum RunError {
    /// Refused before the turn started.
    Api(ApiError),
    /// The turn failed (provider error, timeout…): its status and error body.
    Turn(StatusCode, Value),
}

impl From<ApiError> for RunError {
    fn from(e: ApiError) -> Self {
        RunError::Api(e)
    }
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> Self {
        RunError::Api(e.into())
    }
}

/// Validates the task fields shared by both routes.
fn task_input(
    state: &AppState,
    problems: &mut Problems,
    message: String,
    agent_id: Option<String>,
    surface: Option<Surface>,
    surface_id: Option<String>,
) -> ApiResult<ChatInput> {
    problems.check(
        !length_between(&message, 1, 10_000),
        "taskMessage",
        "must be 1-10000 characters",
    );
    let body = ChatBody {
        message,
        agent_id,
        surface: Some(surface.unwrap_or(Surface::Prop)),
        surface_id,
        webhook_url: None,
    };
    let validated = body.validate(false, state.config.allow_private_urls);
    std::mem::take(problems).finish()?;
    validated
}

/// Runs one turn for `uid`; the reply carries `uid` and `agentId`.
async fn run_for(
    state: &AppState,
    uid: &str,
    workspace_id: Option<&str>,
    input: &ChatInput,
) -> Result<Value, RunError> {
    let user = state
        .store
        .user_by_id(uid)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    let auth = AuthUser { id: user.id };
    check_budget(state, &auth, &input.message).await?;
    let (workspace_id, role) = match workspace_id {
        Some(ws) => {
            let role = state
                .store
                .member_role(ws, &auth.id)
                .await?
                .ok_or_else(|| {
                    ApiError::Forbidden("The user is not a member of this workspace".into())
                })?;
            (ws.to_string(), role)
        }
        None => state
            .store
            .first_workspace_of(&auth.id)
            .await?
            .ok_or_else(|| ApiError::Conflict("The user has no workspace".into()))?,
    };
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored role {role:?}")))?;
    let member = WorkspaceMember {
        user: auth,
        workspace_id,
        role,
    };
    let plan = plan_turn(state, &member, input, request_id::current()).await?;
    let (status, mut body) = run_to_reply(state, plan).await;
    if !status.is_success() {
        return Err(RunError::Turn(status, body));
    }
    body["uid"] = json!(uid);
    body["agentId"] = json!(input.agent_id);
    Ok(body)
}

/// Run one agent turn for a user: `{uid, agentId, content, sessionId, toolsUsed, usage}`.
#[utoipa::path(post, path = "/autonomous/run", tag = "autonomous", request_body = RunIn,
    security(("apiKey" = [])),
    responses((status = 200, description = "{uid, agentId, content, sessionId, toolsUsed, usage}"),
              (status = 400), (status = 401), (status = 403), (status = 404), (status = 429), (status = 502)))]
async fn run(
    State(state): State<AppState>,
    _caller: AutonomousCaller,
    ApiJson(body): ApiJson<RunIn>,
) -> ApiResult<Response> {
    let mut problems = Problems::new();
    problems.check(
        !length_between(&body.uid, 1, 128),
        "uid",
        "must be 1-128 characters",
    );
    problems.check(
        body.workspace_id
            .as_deref()
            .is_some_and(|w| !length_between(w, 1, 128)),
        "workspaceId",
        "must be 1-128 characters",
    );
    let input = task_input(
        &state,
        &mut problems,
        body.task_message,
        body.agent_id,
        body.surface,
        body.surface_id,
    )?;
    match run_for(&state, &body.uid, body.workspace_id.as_deref(), &input).await {
        Ok(reply) => Ok(Json(reply).into_response()),
        Err(RunError::Api(e)) => Err(e),
        Err(RunError::Turn(status, body)) => Ok((status, Json(body)).into_response()),
    }
}

/// Run the same task for many users (4 at a time): 200 when all succeed, 207 otherwise;
/// `{results: [{uid, status, …reply | error}]}` in the order of `uids`.
#[utoipa::path(post, path = "/autonomous/batch", tag = "autonomous", request_body = BatchIn,
    security(("apiKey" = [])),
    responses((status = 200, description = "{results}"), (status = 207, description = "{results} with failures"),
              (status = 400), (status = 401), (status = 429)))]
async fn batch(
    State(state): State<AppState>,
    _caller: AutonomousCaller,
    ApiJson(body): ApiJson<BatchIn>,
) -> ApiResult<Response> {
    let mut problems = Problems::new();
    problems.check(
        body.uids.is_empty() || body.uids.len() > MAX_BATCH,
        "uids",
        "must hold 1-50 user ids",
    );
    problems.check(
        body.uids.iter().any(|u| !length_between(u, 1, 128)),
        "uids",
        "each must be 1-128 characters",
    );
    // Two turns for one user at once would interleave in one session.
    let distinct = body.uids.iter().collect::<HashSet<_>>().len();
    problems.check(distinct != body.uids.len(), "uids", "must be distinct");
    let input = task_input(
        &state,
        &mut problems,
        body.task_message,
        body.agent_id,
        body.surface,
        body.surface_id,
    )?;
    // Owned per-item state: the futures run concurrently inside this request.
    let results: Vec<(bool, Value)> = futures_util::stream::iter(body.uids)
        .map(|uid| {
            let (state, input) = (state.clone(), input.clone());
            async move {
                match run_for(&state, &uid, None, &input).await {
                    Ok(mut reply) => {
                        reply["status"] = json!(200);
                        (true, reply)
                    }
                    Err(RunError::Api(e)) => (false, failure(&uid, e.status(), e.body())),
                    Err(RunError::Turn(status, body)) => (false, failure(&uid, status, body)),
                }
            }
        })
        .buffered(BATCH_CONCURRENCY)
        .collect()
        .await;
    let all_ok = results.iter().all(|(ok, _)| *ok);
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    let results: Vec<Value> = results.into_iter().map(|(_, v)| v).collect();
    Ok((status, Json(json!({ "results": results }))).into_response())
}

/// A failed item of a batch: `{uid, status, error: {code, message}}`.
fn failure(uid: &str, status: StatusCode, body: Value) -> Value {
    json!({
        "uid": uid,
        "status": status.as_u16(),
        "error": { "code": body["code"], "message": body["message"] },
    })
}
