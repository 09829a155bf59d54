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
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    client_ip::ClientIp,
    extract::{ApiJson, WorkspaceMember, from_value},
    idempotency::{self, Idempotency},
    request_id,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::{
        admit::{check_budget, check_rates, plan_turn},
        events::{ChatEvent, Fold},
        input::{ChatBody, ChatInput, Surface},
        limits::RateDecision,
        plan::TurnPlan,
        reply_webhook,
        runner::run_turn,
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
    check_budget(state, &user, &input.message).await?;
    let member = WorkspaceMember::resolve(state, headers, user).await?;
    let rate = check_rates(state, ip, &member.user)?;
    Ok((input, member, rate))
}

fn add_rate_headers(response: &mut Response, rate: Option<RateDecision>) {
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

/// Starts the turn on the task tracker; the returned token cancels it.
fn spawn_turn(state: &AppState, plan: TurnPlan) -> (mpsc::Receiver<ChatEvent>, CancellationToken) {
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    // The turn outlives the request span; its own span carries the ids every log line needs.
    let span = tracing::info_span!(
        "turn",
        request_id = plan.request_id.as_deref().unwrap_or_default(),
        session_id = %plan.session.id,
        trace_id = %plan.trace_id,
        agent_id = %plan.agent_id,
    );
    state
        .tasks
        .spawn(run_turn(state.clone(), plan, tx, cancel.clone()).instrument(span));
    (rx, cancel)
}

/// Send a message; answers `{content, sessionId, toolsUsed, usage}` (or 202 with `webhookUrl`).
#[utoipa::path(post, path = "/agent/chat", tag = "agent", request_body = ChatBody,
    params(("X-Idempotency-Key" = Option<String>, Header, description = "replay protection, 5 minutes"),
           ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "{content, sessionId, toolsUsed, usage}"),
              (status = 202, description = "{sessionId, status: accepted}"), (status = 400), (status = 404),
              (status = 422), (status = 429), (status = 502), (status = 503), (status = 504)))]
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
    let mut guard = match key {
        Some(key) => match idempotency::claim(&state, &user_id, &key, &hash).await? {
            Idempotency::Replay(response) => return Ok(response),
            Idempotency::Fresh(guard) => Some(guard),
        },
        None => None,
    };
    let plan = plan_turn(&state, &member, &input, request_id::current()).await?;
    let (status, body) = match input.webhook_url {
        Some(url) => {
            let body = json!({ "sessionId": plan.session.id, "status": "accepted" });
            let (rx, _cancel) = spawn_turn(&state, plan);
            let deliver_state = state.clone();
            state.tasks.spawn(async move {
                let reply = fold(rx).await;
                let (_, payload) = reply_body(reply);
                reply_webhook::deliver(deliver_state, &user_id, url, "chat.completed", payload)
                    .await;
            });
            (StatusCode::ACCEPTED, body)
        }
        None => run_to_reply(&state, plan).await,
    };
    if let Some(guard) = guard.as_mut() {
        guard.complete(status, &body).await;
    }
    let mut response = (status, Json(body)).into_response();
    add_rate_headers(&mut response, rate);
    Ok(response)
}

/// Runs a planned turn to its end and folds its events into the JSON reply and status
/// (`/agent/chat` and `/autonomous/*`); dropping the future (the client went away) cancels
/// the turn.
pub(crate) async fn run_to_reply(state: &AppState, plan: TurnPlan) -> (StatusCode, Value) {
    let (rx, cancel) = spawn_turn(state, plan);
    let _cancel_on_drop = cancel.drop_guard();
    reply_body(fold(rx).await)
}

async fn fold(mut rx: mpsc::Receiver<ChatEvent>) -> Fold {
    let mut fold = Fold::default();
    while let Some(event) = rx.recv().await {
        fold.push(event);
    }
    fold
}

fn reply_body(fold: Fold) -> (StatusCode, Value) {
    match fold.finish() {
        Ok(reply) => (
            StatusCode::OK,
            serde_json::to_value(reply).unwrap_or_default(),
        ),
        Err(e) => {
            let mut body = e.body;
            if let Some(id) = request_id::current() {
                body["requestId"] = Value::String(id);
            }
            (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_GATEWAY),
                body,
            )
        }
    }
}

/// Decrements the open-stream gauge when the stream ends or the client leaves.
struct StreamGauge(AppState);

impl StreamGauge {
    fn open(state: &AppState) -> Self {
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
    responses((status = 200, description = "text/event-stream"), (status = 400), (status = 404), (status = 429)))]
async fn chat_stream(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Response> {
    let (input, member, rate) = admit(&state, ip, user, &headers, body, true).await?;
    let plan = plan_turn(&state, &member, &input, request_id::current()).await?;
    let (rx, cancel) = spawn_turn(&state, plan);
    let guard = cancel.drop_guard();
    let gauge = StreamGauge::open(&state);
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (event, rx))
    })
    .map(move |event| {
        // The guard and gauge live as long as the stream: dropping the body (client gone)
        // cancels the turn and closes the gauge.
        let _ = (&guard, &gauge);
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
    security(("bearer" = [])), responses((status = 200, description = "{reset, archived}")))]
async fn reset(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiJson(body): ApiJson<ResetIn>,
) -> ApiResult<Json<Value>> {
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
        .archive_sessions(&key, chrono::Utc::now())
        .await?;
    Ok(Json(json!({
        "reset": true, "archived": archived, "agentId": agent_id,
        "surface": surface.as_str(), "surfaceId": surface_id,
    })))
}

/// Active agent states of the calling user.
#[utoipa::path(get, path = "/agent/presence", tag = "agent", security(("bearer" = [])),
    responses((status = 200, description = "{agents: [{agentId, sessionId, surface, surfaceId, state, since}]}")))]
async fn presence(State(state): State<AppState>, user: AuthUser) -> Json<Value> {
    Json(json!({ "agents": state.presence.list(&user.id) }))
}

/// Simple liveness of the agent routes.
#[utoipa::path(get, path = "/agent/health", tag = "agent", responses((status = 200, description = "{status: ok}")))]
async fn agent_health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
