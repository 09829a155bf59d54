//! `/v1` — the OpenAI-compatible surface: `GET /v1/models` lists the agents the caller may
//! run as `agent/<id>` (and, with `openai.passthroughModels`, raw provider models as
//! `<provider>/<model>`); `POST /v1/chat/completions` runs one agent turn through the turn API
//! (or a pass-through provider call) and answers `chat.completion` or
//! `chat.completion.chunk` events. Every error under `/v1` is in OpenAI's shape (see
//! [`error`]).

mod dto;
mod error;
mod stream;

use std::{convert::Infallible, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{KeepAlive, Sse},
    },
};
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use dto::*;
pub use error::{openai_errors, unknown_route};

use super::{
    chat::{StreamGauge, add_rate_headers, admit_caller, to_json},
    client_ip::ClientIp,
    extract::{ApiJson, WorkspaceMember, from_value},
    idempotency::{self, Idempotency, IdempotencyGuard},
    request_id,
};
use crate::{
    agents::AgentEnv,
    app::AppState,
    auth::AuthUser,
    chat::{
        events::TurnReply,
        openai::{self, CompletionRequest, ModelRoute, passthrough},
        turn::{self, TurnEnv},
    },
    error::ApiError,
};

/// The header naming a stored conversation (a surface id) to continue.
const SESSION_HEADER: &str = "x-astra-session";

/// Routes of the OpenAI-compatible group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(models))
        .routes(routes!(chat_completions))
}

/// Whether a path belongs to `/v1` (its errors use OpenAI's shape).
pub fn is_v1(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

/// The agents the caller may run in the workspace (own, global, actively granted), then the
/// raw provider models when `openai.passthroughModels` is on.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    params(("X-Workspace-Id" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = ModelListOut, description = "the models"),
              (status = 400, body = V1ErrorOut, description = "invalid workspace header"),
              (status = 401, body = V1ErrorOut, description = "missing or bad credentials (`invalid_api_key`)"),
              (status = 403, body = V1ErrorOut, description = "not a member of the workspace")))]
async fn models(
    State(state): State<AppState>,
    member: WorkspaceMember,
) -> Result<Json<ModelListOut>, ApiError> {
    let ws = &member.workspace_id;
    let mut entries = openai::models(&AgentEnv::from(&state), ws, Utc::now()).await?;
    let (config, pricing) = (&state.config, &state.pricing);
    let started = state.global_agents.loaded_at();
    entries.extend(passthrough::model_entries(&state.store, config, pricing, ws, started).await?);
    Ok(Json(ModelListOut {
        object: "list",
        data: entries.into_iter().map(ModelOut::from).collect(),
    }))
}

/// Runs a turn of the agent `model` names (`agent/<id>`), or a pass-through call of a raw
/// provider model (`<provider>/<model>`, when `openai.passthroughModels` is on); `stream: true`
/// answers server-sent `chat.completion.chunk` events ending with `data: [DONE]`.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = ChatCompletionIn,
    params(("X-Workspace-Id" = Option<String>, Header),
           ("X-Astra-Session" = Option<String>, Header, description = "surface id of a stored conversation to continue"),
           ("Idempotency-Key" = Option<String>, Header, description = "replay protection, 5 minutes (non-streamed)")),
    security(("bearer" = [])),
    responses((status = 200, body = ChatCompletionOut,
                description = "the completion (with `stream: true`: `chat.completion.chunk` events)"),
              (status = 400, body = V1ErrorOut, description = "invalid JSON or body, `tools` sent, bad `messages` (no final user message, tool messages, over 200 messages or 200 000 characters), `temperature` or `max_tokens` out of range"),
              (status = 401, body = V1ErrorOut, description = "missing or bad credentials (`invalid_api_key`)"),
              (status = 403, body = V1ErrorOut, description = "not allowed (role, provider or model restriction)"),
              (status = 404, body = V1ErrorOut, description = "unknown model (`model_not_found`)"),
              (status = 409, body = V1ErrorOut, description = "idempotent request still in progress"),
              (status = 422, body = V1ErrorOut, description = "idempotency key reused with another body"),
              (status = 429, body = V1ErrorOut, description = "rate limit, token budget or quota spent (`Retry-After`)"),
              (status = 502, body = V1ErrorOut, description = "provider error"),
              (status = 503, body = V1ErrorOut, description = "no provider available"),
              (status = 504, body = V1ErrorOut, description = "the turn timed out")))]
async fn chat_completions(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let hash = idempotency::request_hash("/v1/chat/completions", &raw);
    let body: ChatCompletionIn = from_value(raw)?;
    let (stream, include_usage) = (
        body.stream,
        body.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
    );
    let request = completion_request(body, &headers)?;
    let route = openai::route(&request.model, &state.config, &state.pricing)?;
    let (conversation, sampling) = request.prepare()?;
    let budget_text = conversation.text();
    let target = match route {
        ModelRoute::Agent(agent_id) => Target::Agent(openai::turn_input(
            &request,
            &agent_id,
            &conversation,
            sampling,
            state.config.allow_private_urls,
        )?),
        ModelRoute::Passthrough(raw) => Target::Raw(raw, conversation, sampling),
    };
    let key = match stream {
        true => None,
        false => idempotency::key_in(&headers, "Idempotency-Key")?,
    };
    let user_id = user.id.clone();
    let (member, rate) = admit_caller(&state, ip, user, &headers, &budget_text).await?;
    let mut guard = match idempotency::claim(&state, &user_id, key.as_deref(), &hash).await? {
        Idempotency::Replay(response) => return Ok(response),
        Idempotency::Fresh(guard) => guard,
    };
    let env = TurnEnv::from(&state);
    let mut frame = stream::ChunkFrame {
        id: format!("chatcmpl-{}", uuid::Uuid::now_v7().simple()),
        created: Utc::now().timestamp(),
        model: request.model,
        include_usage,
        surface_id: None,
        trace_id: String::new(),
    };
    let running = match target {
        Target::Agent(input) => {
            let plan = turn::plan(&env, &member, &input, request_id::current()).await?;
            frame.surface_id = Some(input.surface_id);
            frame.trace_id.clone_from(&plan.trace_id);
            turn::start(&env, plan)
        }
        Target::Raw(raw, conversation, sampling) => {
            let id = request_id::current();
            let plan = passthrough::plan(&env, &member, raw, conversation, sampling, id).await?;
            frame.trace_id.clone_from(&plan.trace_id);
            passthrough::start(&env, plan)
        }
    };
    let mut response = match stream {
        true => stream_response(&state, frame, running),
        false => json_response(frame, running, guard.as_mut()).await?,
    };
    add_rate_headers(&mut response, rate);
    Ok(response)
}

/// What a completion runs: an agent turn, or a pass-through call of a raw model.
enum Target {
    Agent(crate::chat::input::ChatInput),
    Raw(openai::RawModel, openai::Conversation, openai::Sampling),
}

/// The `chat.completion` (or the failed turn's OpenAI error) of a running turn, stored for
/// replays when the request carried an idempotency key.
async fn json_response(
    frame: stream::ChunkFrame,
    running: turn::RunningTurn,
    guard: Option<&mut IdempotencyGuard>,
) -> Result<Response, ApiError> {
    let (status, body, retry_after) = match running.reply().await {
        Ok(reply) => (StatusCode::OK, to_json(&completion(&frame, reply))?, None),
        Err(failure) => {
            let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let body = to_json(&error::error_body(status, &failure.body))?;
            (status, body, failure.body["retryAfter"].as_u64())
        }
    };
    if let Some(guard) = guard {
        guard.complete(status, &body).await;
    }
    let mut response = (status, Json(body)).into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    Ok(response)
}

/// The request as the domain sees it, with the `X-Astra-Session` header.
fn completion_request(
    body: ChatCompletionIn,
    headers: &HeaderMap,
) -> Result<CompletionRequest, ApiError> {
    let session = match headers.get(SESSION_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map(|s| s.trim().to_string())
                .map_err(|_| ApiError::field("X-Astra-Session", "must be a surface id"))?,
        ),
        None => None,
    };
    Ok(CompletionRequest {
        model: body.model,
        messages: body
            .messages
            .into_iter()
            .map(MessageIn::into_client)
            .collect(),
        temperature: body.temperature,
        max_tokens: body.max_tokens,
        max_completion_tokens: body.max_completion_tokens,
        has_tools: body.tools.is_some_and(|t| !t.is_null()),
        session,
    })
}

/// The `chat.completion` of a finished turn.
fn completion(frame: &stream::ChunkFrame, reply: TurnReply) -> ChatCompletionOut {
    ChatCompletionOut {
        id: frame.id.clone(),
        object: "chat.completion",
        created: frame.created,
        model: frame.model.clone(),
        choices: vec![ChoiceOut {
            index: 0,
            message: AssistantMessageOut {
                role: "assistant",
                content: reply.content,
            },
            finish_reason: "stop",
        }],
        usage: reply.usage.into(),
        astra: AstraOut {
            session_id: frame.surface_id.is_some().then_some(reply.session_id),
            surface_id: frame.surface_id.clone(),
            tools_used: reply.tools_used,
            trace_id: frame.trace_id.clone(),
        },
    }
}

/// The SSE response of a running turn; the client leaving drops the stream and cancels it.
fn stream_response(
    state: &AppState,
    frame: stream::ChunkFrame,
    running: turn::RunningTurn,
) -> Response {
    let gauge = StreamGauge::open(state);
    let events = stream::chunks(frame, running.into_events()).map(move |event| {
        let _ = &gauge;
        Ok::<_, Infallible>(event)
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response()
}
