//! Route group 2: `/agent/*` — chat (JSON and SSE), reset, presence, health.

use std::{convert::Infallible, net::IpAddr, sync::atomic::Ordering, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

mod dto;

pub use dto::*;

use super::{
    client_ip::ClientIp,
    error_schema::ErrorOut,
    extract::{ApiJson, WorkspaceMember, from_value},
    idempotency::{self, Idempotency},
    request_id,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        input::{ChatBody, ChatInput, Surface},
        limits::RateDecision,
        turn::{self, TurnEnv, TurnResult},
    },
    error::{ApiError, ApiResult},
    store::SessionKey,
};

/// Routes of the agent chat group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(chat))
        .routes(routes!(chat_stream))
        .routes(routes!(reset))
        .routes(routes!(presence))
        .routes(routes!(agent_health))
}

/// JSON of a response DTO (for bodies that are also stored, like idempotent replays).
pub(super) fn to_json(out: &impl Serialize) -> ApiResult<Value> {
    serde_json::to_value(out).map_err(|e| ApiError::Internal(e.into()))
}

/// A finished turn as an HTTP status and body: 200 with the reply, or the failed turn's
/// status (502 when it is not a valid status) and error body.
pub(super) fn turn_response(result: TurnResult) -> ApiResult<(StatusCode, Value)> {
    match result {
        Ok(reply) => Ok((StatusCode::OK, to_json(&ChatReplyOut::from(reply))?)),
        Err(failure) => Ok((
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY),
            failure.body,
        )),
    }
}

/// Admission shared by both chat routes; returns the validated input, member and rate state.
async fn admit(
    state: &AppState,
    ip: IpAddr,
    user: AuthUser,
    headers: &HeaderMap,
    body: Value,
    streaming: bool,
) -> ApiResult<(ChatInput, WorkspaceMember, Option<RateDecision>)> {
    let input =
        from_value::<ChatBody>(body)?.validate(streaming, state.config.allow_private_urls)?;
    let (member, rate) = admit_caller(state, ip, user, headers, &input.message).await?;
    Ok((input, member, rate))
}

/// The seed's admission chain for a bearer caller — monthly token budget, workspace
/// membership, per-IP and per-user rates — shared by every route that runs a turn for one
/// (`/agent/chat*`, `/v1/chat/completions`).
pub(super) async fn admit_caller(
    state: &AppState,
    ip: IpAddr,
    user: AuthUser,
    headers: &HeaderMap,
    message: &str,
) -> ApiResult<(WorkspaceMember, Option<RateDecision>)> {
    let env = TurnEnv::from(state);
    turn::check_budget(&env, &user, message).await?;
    let member = WorkspaceMember::resolve(state, headers, user).await?;
    let rate = turn::check_rates(&env, ip, &member.user).await?;
    Ok((member, rate))
}

/// Adds the `RateLimit-Policy` and `RateLimit` headers of the tighter limiter.
pub(super) fn add_rate_headers(response: &mut Response, rate: Option<RateDecision>) {
    if let Some(rate) = rate {
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&rate.policy_header()) {
            headers.insert("ratelimit-policy", v);
        }
        if let Ok(v) = HeaderValue::from_str(&rate.header()) {
            headers.insert("ratelimit", v);
        }
    }
}

/// Send a message; answers `{content, sessionId, toolsUsed, usage}` (or 202 with `webhookUrl`).
#[utoipa::path(post, path = "/agent/chat", tag = "agent", request_body = ChatBody,
    params(("X-Idempotency-Key" = Option<String>, Header, description = "replay protection, 5 minutes"),
           ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = ChatReplyOut, description = "the reply"),
              (status = 202, body = ChatAcceptedOut, description = "the reply goes to webhookUrl"),
              (status = 400, body = ErrorOut, description = "invalid body (`VALIDATION_ERROR`)"),
              (status = 401, body = ErrorOut, description = "missing or bad credentials"),
              (status = 403, body = ErrorOut, description = "not allowed (role, provider or model restriction)"),
              (status = 404, body = ErrorOut, description = "unknown agent or workspace"),
              (status = 409, body = ErrorOut, description = "idempotent request still in progress"),
              (status = 422, body = ErrorOut, description = "idempotency key reused with another body"),
              (status = 429, body = ErrorOut, description = "rate limit, token budget or quota spent"),
              (status = 502, body = ErrorOut, description = "provider error"),
              (status = 503, body = ErrorOut, description = "no provider available"),
              (status = 504, body = ErrorOut, description = "the turn timed out")))]
async fn chat(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let user_id = user.id.clone();
    let key = idempotency::key_from(&headers)?;
    let hash = idempotency::request_hash("/agent/chat", &body);
    let (input, member, rate) = admit(&state, ip, user, &headers, body, false).await?;
    let mut guard = match idempotency::claim(&state, &user_id, key.as_deref(), &hash).await? {
        Idempotency::Replay(response) => return Ok(response),
        Idempotency::Fresh(guard) => guard,
    };
    let env = TurnEnv::from(&state);
    let plan = turn::plan(&env, &member, &input, request_id::current()).await?;
    let delivery_id = plan.reply_to.as_ref().map(|to| to.delivery_id.clone());
    let running = turn::start(&env, plan);
    let (status, body) = match delivery_id {
        Some(delivery_id) => {
            let accepted = ChatAcceptedOut {
                session_id: running.session_id().to_string(),
                status: "accepted",
                delivery_id,
            };
            running.detach();
            (StatusCode::ACCEPTED, to_json(&accepted)?)
        }
        None => turn_response(running.reply().await)?,
    };
    if let Some(guard) = guard.as_mut() {
        guard.complete(status, &body).await;
    }
    let mut response = (status, Json(body)).into_response();
    add_rate_headers(&mut response, rate);
    Ok(response)
}

/// Decrements the open-stream gauge when the stream ends or the client leaves.
pub(super) struct StreamGauge(AppState);

impl StreamGauge {
    /// Counts one open stream until dropped.
    pub(super) fn open(state: &AppState) -> Self {
        state.open_streams.fetch_add(1, Ordering::Relaxed);
        Self(state.clone())
    }
}

impl Drop for StreamGauge {
    fn drop(&mut self) {
        self.0.open_streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Server-sent events: `session_resolved`, `content`, `tool_call`, `tool_call_complete`,
/// `tool_result`, then `done` or `error`.
#[utoipa::path(post, path = "/agent/chat/stream", tag = "agent", request_body = ChatBody,
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream",
                description = "events: session_resolved, content, tool_call, tool_call_complete, tool_result, then done or error"),
              (status = 400, body = ErrorOut, description = "invalid body (`VALIDATION_ERROR`)"),
              (status = 401, body = ErrorOut, description = "missing or bad credentials"),
              (status = 403, body = ErrorOut, description = "not allowed (role, provider or model restriction)"),
              (status = 404, body = ErrorOut, description = "unknown agent or workspace"),
              (status = 429, body = ErrorOut, description = "rate limit, token budget or quota spent")))]
async fn chat_stream(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let (input, member, rate) = admit(&state, ip, user, &headers, body, true).await?;
    let env = TurnEnv::from(&state);
    let plan = turn::plan(&env, &member, &input, request_id::current()).await?;
    let gauge = StreamGauge::open(&state);
    // Dropping the body (client gone) drops the event stream, which cancels the turn, and
    // the gauge, which lives as long as the stream.
    let events = turn::start(&env, plan).into_events().map(move |event| {
        let _ = &gauge;
        let sse = Event::default().event(event.name()).json_data(event.data());
        Ok::<_, Infallible>(sse.unwrap_or_else(|_| Event::default().event(event.name())))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response();
    add_rate_headers(&mut response, rate);
    Ok(response)
}

/// Which conversation to reset.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResetIn {
    /// Default `chad`.
    pub agent_id: Option<String>,
    /// Default `chat`.
    pub surface: Option<Surface>,
    /// Default `main`.
    pub surface_id: Option<String>,
}

/// Archive the active session of agent + surface + surfaceId; the next message starts anew.
#[utoipa::path(post, path = "/agent/reset", tag = "agent", request_body = ResetIn,
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = AgentResetOut, description = "the conversation was reset"),
              (status = 400, body = ErrorOut, description = "invalid body (`VALIDATION_ERROR`)"),
              (status = 401, body = ErrorOut, description = "missing or bad credentials"),
              (status = 403, body = ErrorOut, description = "not a member of the workspace")))]
async fn reset(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<ResetIn>,
) -> ApiResult<Json<AgentResetOut>> {
    let agent_id = body.agent_id.unwrap_or_else(|| "chad".into());
    let surface = body.surface.unwrap_or_default();
    let surface_id = body.surface_id.unwrap_or_else(|| "main".into());
    if agent_id.is_empty() || agent_id.len() > 64 {
        return Err(ApiError::field("agentId", "must be 1-64 characters"));
    }
    let key = SessionKey {
        user_id: &member.user.id,
        workspace_id: &member.workspace_id,
        agent_id: &agent_id,
        surface: surface.as_str(),
        surface_id: &surface_id,
    };
    let archived = state
        .store
        .sessions()
        .archive_sessions(&key, chrono::Utc::now())
        .await?;
    Ok(Json(AgentResetOut {
        reset: true,
        archived,
        agent_id,
        surface: surface.as_str(),
        surface_id,
    }))
}

/// Active agent states of the calling user.
#[utoipa::path(get, path = "/agent/presence", tag = "agent", security(("bearer" = [])),
    responses((status = 200, body = PresenceOut, description = "the caller's agent states"),
              (status = 401, body = ErrorOut, description = "missing or bad credentials")))]
async fn presence(State(state): State<AppState>, user: AuthUser) -> Json<PresenceOut> {
    let agents = state.presence.list(&user.id);
    Json(PresenceOut {
        agents: agents.into_iter().map(PresenceEntryOut::from).collect(),
    })
}

/// Simple liveness of the agent routes.
#[utoipa::path(get, path = "/agent/health", tag = "agent",
    responses((status = 200, body = AgentHealthOut, description = "the agent routes are up")))]
async fn agent_health() -> Json<AgentHealthOut> {
    Json(AgentHealthOut { status: "ok" })
}
