//! `GET /ws`: the WebSocket channel. One socket runs several agent turns at once (each a
//! `chat` frame, admitted, limited and recorded exactly as `POST /agent/chat/stream`, through
//! the same turn API), streams their events tagged with the client's ids, answers `ping` and
//! `cancel` frames, and pushes presence changes of the caller's agents.
//!
//! Authentication happens before the upgrade (401 otherwise): `Authorization: Bearer` (JWT or
//! `ak_` key) or, for browsers that cannot set headers, `?token=`. [`promote_query_token`]
//! turns the query form into the header before the credential gate runs and removes it from
//! the URI, so nothing after it (logs, traces, metrics) can see it.
//!
//! The codec is [`frames`]; the socket's life (keep-alive, idle timeout, bounded queue, turns)
//! is [`session`].

pub mod frames;
mod session;
mod turns;

use std::{
    net::IpAddr,
    sync::atomic::{AtomicI64, Ordering},
};

use axum::{
    extract::{
        Query, State,
        ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::{HeaderMap, HeaderValue, Uri, header, request::Parts},
    response::Response,
};
use serde::Deserialize;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    client_ip::ClientIp,
    error_schema::ErrorOut,
    extract::{ApiQuery, WORKSPACE_HEADER, WorkspaceMember},
    request_id,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    config::Secret,
    error::{ApiError, ApiResult},
};
pub use frames::{WsCancelFrame, WsChatFrame, WsClientFrame, WsServerFrame};

/// The route template.
pub const PATH: &str = "/ws";

/// The frame schemas, which no operation references (they travel on the socket).
#[derive(OpenApi)]
#[openapi(components(schemas(WsClientFrame, WsChatFrame, WsCancelFrame, WsServerFrame)))]
struct FramesDoc;

/// The route, with the frame schemas in the document's components.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(FramesDoc::openapi()).routes(routes!(ws))
}

/// Query parameters of the upgrade (as documented; `token` never reaches the handler, see
/// [`promote_query_token`]).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The bearer token (JWT or `ak_` key), for clients that cannot send `Authorization`.
    pub token: Option<String>,
    /// The default workspace of the socket's turns (like `X-Workspace-Id`).
    pub workspace_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenOnly {
    token: Option<String>,
}

/// For `/ws` only: a request without `Authorization` but with `?token=` gets the token as its
/// bearer header; the token is removed from the URI either way.
pub(super) fn promote_query_token(parts: &mut Parts) {
    let Some(query) = parts.uri.query() else {
        return;
    };
    let token = Query::<TokenOnly>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.token)
        .filter(|t| !t.is_empty());
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some("token"))
        .collect();
    let path = parts.uri.path();
    let scrubbed = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    if let Ok(uri) = scrubbed.parse::<Uri>() {
        parts.uri = uri;
    }
    if let Some(token) = token
        && !parts.headers.contains_key(header::AUTHORIZATION)
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        parts.headers.insert(header::AUTHORIZATION, value);
    }
}

/// Counts one open socket (from the upgrade answer until the session ends).
struct WsSlot(AppState);

impl WsSlot {
    /// Takes a slot, or 503 when `ASTRA_WS_MAX_CONNECTIONS` sockets are open.
    fn reserve(state: &AppState) -> ApiResult<Self> {
        let open: &AtomicI64 = &state.ws_connections;
        let max = i64::try_from(state.config.ws.max_connections).unwrap_or(i64::MAX);
        if open.fetch_add(1, Ordering::AcqRel) >= max {
            open.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::Unavailable(
                "Too many open WebSocket connections; retry shortly".into(),
            ));
        }
        Ok(Self(state.clone()))
    }
}

impl Drop for WsSlot {
    fn drop(&mut self) {
        self.0.ws_connections.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Who a socket belongs to and what its turns default to.
struct Caller {
    /// The authenticated caller.
    user: AuthUser,
    /// The bearer token, checked again for every turn and every ping interval.
    token: Secret,
    /// The client's address (per-IP limits).
    ip: IpAddr,
    /// The default workspace of the socket's turns.
    workspace: Option<String>,
}

/// Upgrade to the WebSocket channel. Frames are JSON text: the client sends `{type: "chat",
/// id, message, agentId?, surface?, surfaceId?, workspaceId?}`, `{type: "cancel", id}` and
/// `{type: "ping"}` (`WsClientFrame`); the server sends `{type, id?, data?}` (`WsServerFrame`):
/// the SSE events of `/agent/chat/stream` (`session_resolved`, `content`, `tool_call`,
/// `tool_call_complete`, `tool_result`, `done`, `error`) with the turn's `id`, `pong`, and
/// `presence` changes of the caller's agents. A bad frame is answered with an `error` frame
/// (`BAD_FRAME`, `VALIDATION_ERROR`, `DUPLICATE_ID`, `TOO_MANY_TURNS`, `UNKNOWN_TURN`); a
/// cancelled turn ends with an `error` frame `CANCELLED`. Close codes: 1000 idle timeout,
/// 1001 server shutdown, 1008 credentials expired or revoked, 1009 message over
/// `ASTRA_WS_MAX_MESSAGE_BYTES`.
#[utoipa::path(get, path = "/ws", tag = "agent",
    params(WsQuery, ("X-Workspace-Id" = Option<String>, Header, description = "default workspace of the socket's turns")),
    security(("bearer" = [])),
    responses((status = 101, description = "switched to the WebSocket protocol; frames as described"),
              (status = 400, body = ErrorOut, description = "not a WebSocket upgrade, or a bad workspace id"),
              (status = 401, body = ErrorOut, description = "missing or bad credentials"),
              (status = 403, body = ErrorOut, description = "not a member of the named workspace"),
              (status = 503, body = ErrorOut, description = "too many open WebSocket connections")))]
async fn ws(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    user: AuthUser,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<WsQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let upgrade = upgrade.map_err(|e| ApiError::field("Upgrade", e.body_text()))?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').map(|(_, t)| t.trim().to_string()))
        .map(Secret::new)
        .ok_or_else(|| ApiError::Unauthorized("Missing bearer token".into()))?;
    let workspace = default_workspace(&state, &headers, query.workspace_id, &user).await?;
    let slot = WsSlot::reserve(&state)?;
    let caller = Caller {
        user,
        token,
        ip,
        workspace,
    };
    let limits = state.config.ws;
    let span = tracing::info_span!(
        "ws",
        request_id = request_id::current().unwrap_or_default(),
        user_id = %caller.user.id,
    );
    Ok(upgrade
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| {
            let tasks = state.tasks.clone();
            let session = async move {
                session::run(socket, state, caller).await;
                drop(slot);
            };
            tasks.track_future(session.instrument(span))
        }))
}

/// The socket's default workspace: `X-Workspace-Id`, else `?workspaceId=` (400 when both
/// differ); a named one must admit the caller (checked now, so a wrong one fails before the
/// upgrade). `None` leaves each turn to the caller's oldest workspace, as `/agent/chat` does.
async fn default_workspace(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<String>,
    user: &AuthUser,
) -> ApiResult<Option<String>> {
    let header = headers
        .get(WORKSPACE_HEADER)
        .map(|v| v.to_str().map(str::trim).unwrap_or_default().to_string());
    let named = match (header, query) {
        (Some(h), Some(q)) if h != q => {
            return Err(ApiError::field(
                "workspaceId",
                "differs from the X-Workspace-Id header",
            ));
        }
        (h, q) => h.or(q),
    };
    let Some(id) = named else {
        return Ok(None);
    };
    let mut check = HeaderMap::new();
    let value = HeaderValue::from_str(&id)
        .map_err(|_| ApiError::field("X-Workspace-Id", "must be a workspace id"))?;
    check.insert(WORKSPACE_HEADER, value);
    let member = WorkspaceMember::resolve(state, &check, user.clone()).await?;
    Ok(Some(member.workspace_id))
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn promoted(uri: &str, auth: Option<&str>) -> Parts {
        let mut builder = Request::builder().uri(uri);
        if let Some(auth) = auth {
            builder = builder.header(header::AUTHORIZATION, auth);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        promote_query_token(&mut parts);
        parts
    }

    #[test]
    fn the_query_token_becomes_the_bearer_header_and_leaves_the_uri() {
        let parts = promoted("/ws?workspaceId=ws_1&token=abc%2Bdef", None);
        assert_eq!(parts.uri, "/ws?workspaceId=ws_1");
        assert_eq!(parts.headers[header::AUTHORIZATION], "Bearer abc+def");
        let parts = promoted("/ws?token=abc", None);
        assert_eq!(parts.uri, "/ws");
        // A header wins; the query token is still scrubbed.
        let parts = promoted("/ws?token=abc", Some("Bearer header"));
        assert_eq!(parts.uri, "/ws");
        assert_eq!(parts.headers[header::AUTHORIZATION], "Bearer header");
        let parts = promoted("/ws?workspaceId=ws_1", None);
        assert!(!parts.headers.contains_key(header::AUTHORIZATION));
        assert_eq!(parts.uri, "/ws?workspaceId=ws_1");
    }
}
