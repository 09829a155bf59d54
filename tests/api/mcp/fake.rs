//! A real MCP server over streamable HTTP, started inside the test: JSON-RPC 2.0 answered
//! with `application/json` bodies, a session id from `initialize`, and the tools `echo`,
//! `explode` (fails with `isError`) and `die` (the server dies in the middle of the call:
//! the connection is cut and every later request too).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

/// What the fake saw.
#[derive(Default)]
pub struct Seen {
    /// `tools/call` params, in order.
    pub calls: Vec<Value>,
    /// The `authorization` header of every request.
    pub authorization: Vec<Option<String>>,
}

#[derive(Clone, Default)]
struct FakeState {
    seen: Arc<Mutex<Seen>>,
    dead: Arc<AtomicBool>,
}

/// A running fake MCP server.
pub struct FakeMcp {
    /// `http://127.0.0.1:PORT/mcp`
    pub url: String,
    state: FakeState,
}

impl FakeMcp {
    /// Starts the server on 127.0.0.1.
    pub async fn start() -> FakeMcp {
        let state = FakeState::default();
        let app = Router::new()
            .route("/mcp", post(rpc).get(no_stream).delete(end_session))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeMcp {
            url: format!("http://{addr}/mcp"),
            state,
        }
    }

    /// The `tools/call` params received so far.
    pub fn calls(&self) -> Vec<Value> {
        self.state.seen.lock().unwrap().calls.clone()
    }

    /// The `authorization` headers received so far.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state.seen.lock().unwrap().authorization.clone()
    }
}

/// A body that fails after the headers: hyper cuts the connection, as when a server dies.
fn cut() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("server died"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn no_stream() -> StatusCode {
    StatusCode::METHOD_NOT_ALLOWED
}

async fn end_session() -> StatusCode {
    StatusCode::OK
}

fn tools() -> Value {
    json!([
        {"name": "echo", "description": "Echoes the text back.",
         "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
        {"name": "explode", "description": "Always fails.", "inputSchema": {"type": "object", "properties": {}}},
        {"name": "die", "description": "Kills the server mid-call.", "inputSchema": {"type": "object", "properties": {}}},
    ])
}

async fn rpc(State(state): State<FakeState>, headers: HeaderMap, body: Bytes) -> Response {
    if state.dead.load(Ordering::SeqCst) {
        return cut();
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    state.seen.lock().unwrap().authorization.push(auth);
    let msg: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    let Some(id) = msg.get("id").cloned() else {
        // A notification or a response: accepted, nothing to answer.
        return StatusCode::ACCEPTED.into_response();
    };
    let method = msg["method"].as_str().unwrap_or_default();
    let params = msg.get("params").cloned().unwrap_or(json!({}));
    let result = match method {
        "initialize" => {
            let asked = params["protocolVersion"].as_str().unwrap_or_default();
            let version =
                if ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"].contains(&asked) {
                    asked
                } else {
                    "2025-06-18"
                };
            let body = json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": true}},
                "serverInfo": {"name": "astra-test-http", "version": "1.0.0"}}});
            return (
                [
                    ("content-type", "application/json"),
                    ("mcp-session-id", "sess-1"),
                ],
                body.to_string(),
            )
                .into_response();
        }
        "ping" => json!({}),
        "tools/list" => json!({"tools": tools()}),
        "tools/call" => {
            state.seen.lock().unwrap().calls.push(params.clone());
            match params["name"].as_str().unwrap_or_default() {
                "echo" => {
                    json!({"content": [{"type": "text", "text": format!("echo: {}", params["arguments"]["text"].as_str().unwrap_or_default())}]})
                }
                "explode" => {
                    json!({"content": [{"type": "text", "text": "the explode tool failed on purpose"}], "isError": true})
                }
                "die" => {
                    state.dead.store(true, Ordering::SeqCst);
                    return cut();
                }
                _ => {
                    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602, "message": "unknown tool"}});
                    return ([("content-type", "application/json")], body.to_string())
                        .into_response();
                }
            }
        }
        _ => {
            let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not found"}});
            return ([("content-type", "application/json")], body.to_string()).into_response();
        }
    };
    let body = json!({"jsonrpc": "2.0", "id": id, "result": result});
    ([("content-type", "application/json")], body.to_string()).into_response()
}
