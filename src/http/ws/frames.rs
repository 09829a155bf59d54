//! The frames of `/ws`: JSON text messages in both directions.
//!
//! Client → server: [`WsClientFrame`] (`chat`, `cancel`, `ping`). Server → client:
//! [`WsServerFrame`] `{type, id?, data?}`, where a turn's frames carry the client's `id` and,
//! as `data`, exactly the data of the SSE event of the same name on `/agent/chat/stream`.
//! A frame that cannot be used is answered with an `error` frame whose `data.code` is one of
//! the stable codes below (or `VALIDATION_ERROR` with per-field `details`).

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::{
    chat::{
        events::ChatEvent,
        input::{ChatBody, Surface},
    },
    error::ApiError,
    validate::{from_value, length_between},
};

/// The frame is not a JSON object with a known `type` (or is binary).
pub const BAD_FRAME: &str = "BAD_FRAME";
/// A `chat` frame reused the `id` of a turn still running on the socket.
pub const DUPLICATE_ID: &str = "DUPLICATE_ID";
/// A `chat` frame came while `ASTRA_WS_MAX_TURNS` turns run on the socket.
pub const TOO_MANY_TURNS: &str = "TOO_MANY_TURNS";
/// A `cancel` frame named no running turn.
pub const UNKNOWN_TURN: &str = "UNKNOWN_TURN";
/// The last frame of a turn the client cancelled.
pub const CANCELLED: &str = "CANCELLED";

/// A frame from the client, told apart by `type`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum WsClientFrame {
    /// Runs a turn, as `POST /agent/chat/stream` with this body would.
    Chat(WsChatFrame),
    /// Cancels the running turn `id`.
    Cancel(WsCancelFrame),
    /// Asks for a `pong` frame (and counts as activity for the idle timeout).
    Ping,
}

/// `{type: "chat", …}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WsChatFrame {
    /// The client's id of the turn (1–128 characters), echoed on every frame of the turn.
    pub id: String,
    /// 1–10 000 characters.
    pub message: String,
    /// Default `chad`.
    pub agent_id: Option<String>,
    /// `chat|prop|group` (default `chat`).
    pub surface: Option<Surface>,
    /// Default `main`.
    pub surface_id: Option<String>,
    /// The workspace of this turn; default: the socket's (`X-Workspace-Id` or `?workspaceId=`
    /// at the upgrade), else the caller's oldest.
    pub workspace_id: Option<String>,
}

impl WsChatFrame {
    /// The equivalent body of `/agent/chat/stream`.
    pub fn body(&self) -> ChatBody {
        ChatBody {
            message: self.message.clone(),
            agent_id: self.agent_id.clone(),
            surface: self.surface,
            surface_id: self.surface_id.clone(),
            webhook_url: None,
        }
    }
}

/// `{type: "cancel", id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct WsCancelFrame {
    /// The id of the running turn.
    pub id: String,
}

/// A frame from the server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WsServerFrame {
    /// `session_resolved`, `content`, `tool_call`, `tool_call_complete`, `tool_result`,
    /// `done`, `error`, `pong` or `presence`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The client's turn id (turn frames, and errors about a frame that had one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The SSE event's data (`error`: `{code, message, details?, requestId?}`); `presence`:
    /// `{agentId, sessionId, surface, surfaceId, state, since}` as in `GET /agent/presence`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

impl WsServerFrame {
    /// One event of turn `id`.
    pub fn event(id: &str, event: &ChatEvent) -> Self {
        Self {
            kind: event.name(),
            id: Some(id.to_string()),
            data: Some(event.data()),
        }
    }

    /// An `error` frame with a stable code.
    pub fn error(id: Option<&str>, code: &str, message: &str) -> Self {
        Self::error_body(id, json!({ "code": code, "message": message }))
    }

    /// An `error` frame with the body of an [`ApiError`].
    pub fn api_error(id: Option<&str>, err: &ApiError, request_id: Option<&str>) -> Self {
        let mut body = err.body();
        if let Some(request_id) = request_id {
            body["requestId"] = json!(request_id);
        }
        Self::error_body(id, body)
    }

    fn error_body(id: Option<&str>, body: Value) -> Self {
        Self {
            kind: "error",
            id: id.map(str::to_string),
            data: Some(body),
        }
    }

    /// The answer to a `ping` frame.
    pub fn pong() -> Self {
        Self {
            kind: "pong",
            id: None,
            data: None,
        }
    }

    /// A presence change of one of the caller's agents.
    pub fn presence(data: Value) -> Self {
        Self {
            kind: "presence",
            id: None,
            data: Some(data),
        }
    }

    /// True for the last frame of a turn (`done` or `error`).
    pub fn ends_turn(&self) -> bool {
        self.id.is_some() && matches!(self.kind, "done" | "error")
    }

    /// The WebSocket text message.
    pub fn message(&self) -> Message {
        // A struct of strings and JSON values always serialises; the fallback is unreachable.
        let text = serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"));
        Message::Text(text.into())
    }
}

/// A close frame with `code` and a short reason.
pub fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

/// A client frame that cannot be used, as the `error` frame that answers it.
pub fn decode(text: &str) -> Result<WsClientFrame, WsServerFrame> {
    let bad = |message: &str| WsServerFrame::error(None, BAD_FRAME, message);
    let value: Value =
        serde_json::from_str(text).map_err(|_| bad("frames are JSON objects with a `type`"))?;
    let Some(kind) = value.get("type").and_then(Value::as_str) else {
        return Err(bad("frames are JSON objects with a `type`"));
    };
    // Echo the id when the frame has a usable one, so the client knows which frame failed.
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| length_between(id, 1, 128))
        .map(str::to_string);
    let invalid = |e: ApiError| WsServerFrame::api_error(id.as_deref(), &e, None);
    let frame = match kind {
        "chat" => WsClientFrame::Chat(from_value(value).map_err(invalid)?),
        "cancel" => WsClientFrame::Cancel(from_value(value).map_err(invalid)?),
        "ping" => WsClientFrame::Ping,
        _ => return Err(bad("unknown frame type (chat, cancel, ping)")),
    };
    let frame_id = match &frame {
        WsClientFrame::Chat(chat) => Some(&chat.id),
        WsClientFrame::Cancel(cancel) => Some(&cancel.id),
        WsClientFrame::Ping => None,
    };
    if frame_id.is_some_and(|id| !length_between(id, 1, 128)) {
        return Err(invalid(ApiError::field("id", "must be 1-128 characters")));
    }
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(frame: &WsServerFrame) -> &str {
        frame.data.as_ref().unwrap()["code"].as_str().unwrap()
    }

    #[test]
    fn frames_decode_or_name_their_problem() {
        let chat = decode(r#"{"type":"chat","id":"a","message":"hi","surface":"group"}"#);
        assert!(matches!(chat, Ok(WsClientFrame::Chat(c)) if c.surface == Some(Surface::Group)));
        assert!(matches!(
            decode(r#"{"type":"ping"}"#),
            Ok(WsClientFrame::Ping)
        ));
        assert_eq!(code(&decode("not json").unwrap_err()), BAD_FRAME);
        assert_eq!(code(&decode(r#"{"type":"dance"}"#).unwrap_err()), BAD_FRAME);
        let missing = decode(r#"{"type":"chat","id":"t1"}"#).unwrap_err();
        assert_eq!(code(&missing), "VALIDATION_ERROR");
        assert_eq!(missing.id.as_deref(), Some("t1"));
        assert!(missing.data.unwrap()["details"]["message"].is_string());
        let long_id = format!(r#"{{"type":"cancel","id":"{}"}}"#, "x".repeat(129));
        assert_eq!(code(&decode(&long_id).unwrap_err()), "VALIDATION_ERROR");
    }

    #[test]
    fn turn_frames_carry_the_sse_data() {
        let frame = WsServerFrame::event("t1", &ChatEvent::Content("hello".into()));
        let json: Value = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            json!({"type": "content", "id": "t1", "data": {"content": "hello"}})
        );
        assert!(!frame.ends_turn());
        assert_eq!(
            serde_json::to_value(WsServerFrame::pong()).unwrap(),
            json!({"type": "pong"})
        );
    }
}
