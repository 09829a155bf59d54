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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    chat::TurnUsageOut,
    error_schema::ErrorOut,
    extract::{ApiJson, InternalKey},
    request_id,
    validate::{Problems, length_between},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        events::TurnReply,
        input::{ChatBody, ChatInput, Surface},
        turn::{self, TurnEnv, TurnFailure},
    },
    error::{ApiError, ApiResult},
};

pub use crate::chat::limits::AUTONOMOUS_PER_MINUTE as RATE_PER_MINUTE;
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
        if let Some(d) = state.autonomous_limiter.check("internal-api-key").await
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

/// The reply of one run: the turn's reply plus who it ran for.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutonomousRunOut {
    /// The user the agent worked for.
    pub uid: String,
    /// The agent.
    pub agent_id: String,
    /// Assistant text.
    pub content: String,
    /// Session used.
    pub session_id: String,
    /// Distinct tools called, in first-call order.
    pub tools_used: Vec<String>,
    /// Token usage.
    pub usage: TurnUsageOut,
}

impl AutonomousRunOut {
    fn new(uid: &str, agent_id: &str, reply: TurnReply) -> Self {
        Self {
            uid: uid.to_string(),
            agent_id: agent_id.to_string(),
            content: reply.content,
            session_id: reply.session_id,
            tools_used: reply.tools_used,
            usage: reply.usage.into(),
        }
    }
}

/// `{code, message}` of a failed batch item.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutonomousErrorOut {
    /// Stable error code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

/// One item of a batch, in the order of `uids`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum AutonomousBatchItemOut {
    /// The run succeeded: `status` is 200.
    Ok {
        /// The run's reply.
        #[serde(flatten)]
        reply: AutonomousRunOut,
        /// HTTP status of the item (200).
        status: u16,
    },
    /// The run failed.
    Failed {
        /// The user.
        uid: String,
        /// HTTP status the run would have answered.
        status: u16,
        /// What went wrong.
        error: AutonomousErrorOut,
    },
}

/// The result of `/autonomous/batch`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AutonomousBatchOut {
    /// One item per user, in the order of `uids`.
    pub results: Vec<AutonomousBatchItemOut>,
}

/// Why a run produced no reply.
enum RunError {
    /// Refused before the turn started.
    Api(ApiError),
    /// The turn failed (provider error, timeout…): its status and error body.
    Turn(TurnFailure),
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
) -> Result<AutonomousRunOut, RunError> {
    let user = state
        .store
        .users()
        .user_by_id(uid)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))?;
    let env = TurnEnv::from(state);
    let user = AuthUser::user(user.id);
    turn::check_budget(&env, &user, &input.message).await?;
    let member = turn::member_for(&env, user, workspace_id).await?;
    match turn::run(&env, &member, input, request_id::current()).await? {
        Ok(reply) => Ok(AutonomousRunOut::new(uid, &input.agent_id, reply)),
        Err(failure) => Err(RunError::Turn(failure)),
    }
}

/// Run one agent turn for a user: `{uid, agentId, content, sessionId, toolsUsed, usage}`.
#[utoipa::path(post, path = "/autonomous/run", tag = "autonomous", request_body = RunIn,
    security(("apiKey" = [])),
    responses((status = 200, body = AutonomousRunOut, description = "the reply"),
              (status = 400, body = ErrorOut, description = "invalid body (`VALIDATION_ERROR`)"),
              (status = 401, body = ErrorOut, description = "missing or bad X-Api-Key"),
              (status = 403, body = ErrorOut, description = "the user is not a member of the workspace, or may not run the agent"),
              (status = 404, body = ErrorOut, description = "unknown user or agent"),
              (status = 409, body = ErrorOut, description = "the user has no workspace"),
              (status = 429, body = ErrorOut, description = "rate limit, token budget or quota spent"),
              (status = 502, body = ErrorOut, description = "provider error"),
              (status = 503, body = ErrorOut, description = "no provider available"),
              (status = 504, body = ErrorOut, description = "the turn timed out")))]
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
        Err(RunError::Turn(failure)) => {
            Ok((status_of(&failure), Json(failure.body)).into_response())
        }
    }
}

/// Run the same task for many users (4 at a time): 200 when all succeed, 207 otherwise;
/// `{results: [{uid, status, …reply | error}]}` in the order of `uids`.
#[utoipa::path(post, path = "/autonomous/batch", tag = "autonomous", request_body = BatchIn,
    security(("apiKey" = [])),
    responses((status = 200, body = AutonomousBatchOut, description = "every run succeeded"),
              (status = 207, body = AutonomousBatchOut, description = "some runs failed (see each item's status)"),
              (status = 400, body = ErrorOut, description = "invalid body (`VALIDATION_ERROR`)"),
              (status = 401, body = ErrorOut, description = "missing or bad X-Api-Key"),
              (status = 429, body = ErrorOut, description = "rate limit")))]
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
    let results: Vec<AutonomousBatchItemOut> = futures_util::stream::iter(body.uids)
        .map(|uid| {
            let (state, input) = (state.clone(), input.clone());
            async move {
                match run_for(&state, &uid, None, &input).await {
                    Ok(reply) => AutonomousBatchItemOut::Ok { reply, status: 200 },
                    Err(RunError::Api(e)) => failure(&uid, e.status(), &e.body()),
                    Err(RunError::Turn(f)) => failure(&uid, status_of(&f), &f.body),
                }
            }
        })
        .buffered(BATCH_CONCURRENCY)
        .collect()
        .await;
    let all_ok = results
        .iter()
        .all(|r| matches!(r, AutonomousBatchItemOut::Ok { .. }));
    let status = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(AutonomousBatchOut { results })).into_response())
}

/// The status a failed turn answers (502 when it carries no valid one).
fn status_of(failure: &TurnFailure) -> StatusCode {
    StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY)
}

/// A failed item of a batch: `{uid, status, error: {code, message}}`.
fn failure(uid: &str, status: StatusCode, body: &Value) -> AutonomousBatchItemOut {
    AutonomousBatchItemOut::Failed {
        uid: uid.to_string(),
        status: status.as_u16(),
        error: AutonomousErrorOut {
            code: body["code"].as_str().unwrap_or_default().to_string(),
            message: body["message"].as_str().unwrap_or_default().to_string(),
        },
    }
}
