//! A `chat` frame as a stream of server frames: the admission and planning of
//! `/agent/chat/stream` (same functions, same order), then the turn's events tagged with the
//! frame's id. Nothing here runs a turn differently from the SSE route.

use std::net::IpAddr;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, Method, Request, header},
};
use futures_util::{
    StreamExt,
    stream::{self, BoxStream},
};
use tracing::Instrument;

use super::{
    super::{chat::admit_caller, extract::WORKSPACE_HEADER},
    frames::{WsChatFrame, WsServerFrame},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::turn::{self, RunningTurn, TurnEnv},
    error::{ApiError, ApiResult},
    request_ctx,
};

/// What a turn's stream yields to the session.
pub(super) enum TurnItem {
    /// A frame to send.
    Frame(WsServerFrame),
    /// The caller's credentials no longer hold: send this `error` frame, then close (1008).
    Revoked(WsServerFrame),
}

/// What a `chat` frame needs besides the frame.
#[derive(Clone)]
pub(super) struct TurnCaller {
    pub state: AppState,
    pub token: String,
    pub ip: IpAddr,
    pub workspace: Option<String>,
}

/// Verifies `token` again, as the credential gate and `AuthUser` would for `method path`
/// (an API key's scopes are judged against that route): a socket must not outlive a logout,
/// an expired token or a revoked key.
pub(super) async fn authenticate(
    state: &AppState,
    token: &str,
    method: Method,
    path: &str,
) -> ApiResult<AuthUser> {
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| ApiError::Unauthorized("Invalid bearer token".into()))?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, bearer)
        .body(())
        .map_err(|e| ApiError::Internal(e.into()))?;
    let (mut parts, ()) = request.into_parts();
    AuthUser::from_request_parts(&mut parts, state).await
}

/// Why a turn did not start.
enum Refusal {
    Revoked(ApiError),
    Refused(ApiError),
}

/// Admits, plans and starts the turn of `frame` — the steps of `POST /agent/chat/stream`:
/// credentials (as that route), body validation, budget → membership → rates, plan, start.
async fn start(caller: &TurnCaller, frame: &WsChatFrame) -> Result<RunningTurn, Refusal> {
    let state = &caller.state;
    let user = authenticate(state, &caller.token, Method::POST, "/agent/chat/stream")
        .await
        .map_err(|e| match e {
            ApiError::Unauthorized(_) => Refusal::Revoked(e),
            other => Refusal::Refused(other),
        })?;
    let input = frame
        .body()
        .validate(true, state.config.allow_private_urls)
        .map_err(Refusal::Refused)?;
    let mut headers = HeaderMap::new();
    if let Some(ws) = frame.workspace_id.as_ref().or(caller.workspace.as_ref()) {
        let value = HeaderValue::from_str(ws).map_err(|_| {
            Refusal::Refused(ApiError::field("workspaceId", "must be a workspace id"))
        })?;
        headers.insert(WORKSPACE_HEADER, value);
    }
    let (member, _rate) = admit_caller(state, caller.ip, user, &headers, &input.message)
        .await
        .map_err(Refusal::Refused)?;
    let env = TurnEnv::of(state);
    let plan = turn::plan(&env, &member, &input, request_ctx::current())
        .await
        .map_err(Refusal::Refused)?;
    Ok(turn::start(&env, plan))
}

/// The frames of one turn: its events with `frame.id`, or the one `error` frame that refused
/// it. Each turn is a request of its own with a fresh request id (quoted as `requestId` in a
/// refusal and kept in the turn's trace). Dropping the stream cancels the turn.
pub(super) fn frames(caller: TurnCaller, frame: WsChatFrame) -> BoxStream<'static, TurnItem> {
    let request_id = uuid::Uuid::now_v7().to_string();
    let span = tracing::info_span!("ws_turn", request_id = %request_id, turn = %frame.id);
    let id = frame.id.clone();
    let started = {
        let request_id = request_id.clone();
        async move {
            let result = start(&caller, &frame).await;
            (result, request_id)
        }
    };
    let started = request_ctx::scope(request_id, started).instrument(span);
    stream::once(started)
        .flat_map(move |(result, request_id)| {
            let id = id.clone();
            match result {
                Ok(running) => running
                    .into_events()
                    .map(move |event| TurnItem::Frame(WsServerFrame::event(&id, &event)))
                    .boxed(),
                Err(refusal) => {
                    let (err, revoked) = match refusal {
                        Refusal::Revoked(e) => (e, true),
                        Refusal::Refused(e) => (e, false),
                    };
                    if let ApiError::Internal(cause) = &err {
                        tracing::error!(error = ?cause, "websocket turn failed to start");
                    }
                    let frame = WsServerFrame::api_error(Some(&id), &err, Some(&request_id));
                    let item = if revoked {
                        TurnItem::Revoked(frame)
                    } else {
                        TurnItem::Frame(frame)
                    };
                    stream::once(async move { item }).boxed()
                }
            }
        })
        .boxed()
}
