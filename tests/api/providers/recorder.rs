//! A credential-recording upstream for the key-leak and DoS tests: a real axum server on
//! 127.0.0.1:0 that speaks the OpenAI, Anthropic and Gemini streaming formats (chosen by
//! path), records every credential header it receives, and can instead redirect, fail,
//! or send pathological bodies.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures_util::{StreamExt, stream};
use serde_json::json;

/// How the recorder answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// A short valid stream in the format the path asks for.
    Answer,
    /// `307` to this base URL + the same path.
    RedirectTo(String),
    /// This status with an upstream body that must never reach a client.
    Fail(u16),
    /// One SSE line of this many bytes, sent in 64 KiB chunks, then silence (no newline).
    HugeLine(usize),
    /// A non-streaming 200 body of this many bytes (for the body cap).
    HugeBody(usize),
}

/// One received request: path and the credential headers it carried.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub credentials: Vec<(String, String)>,
}

struct Shared {
    mode: Mutex<Mode>,
    seen: Mutex<Vec<Seen>>,
}

/// A running recorder.
pub struct Recorder {
    pub url: String,
    shared: Arc<Shared>,
}

/// The text every answering recorder streams back.
pub const ANSWER: &str = "recorded-answer";
/// Marker in failure bodies: it must never appear in a client-visible response.
pub const UPSTREAM_SECRET_BODY: &str = "upstream-body-echo-of-your-key";

impl Recorder {
    pub async fn start(mode: Mode) -> Recorder {
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Recorder { url, shared }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Every credential value seen so far.
    pub fn credential_values(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .flat_map(|s| s.credentials.into_iter().map(|(_, v)| v))
            .collect()
    }
}

const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "x-amz-security-token",
];

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let credentials = CREDENTIAL_HEADERS
        .iter()
        .filter_map(|h| {
            headers
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(|v| (h.to_string(), v.to_string()))
        })
        .collect();
    shared.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        credentials,
    });
    let mode = shared.mode.lock().unwrap().clone();
    match mode {
        Mode::Answer => stream_answer(&path),
        Mode::RedirectTo(base) => {
            let target = format!("{base}{}", uri.path_and_query().map_or("", |p| p.as_str()));
            respond(307, Body::empty(), &[("location", target)])
        }
        Mode::Fail(status) => respond(
            status,
            Body::from(json!({"error": {"message": UPSTREAM_SECRET_BODY}}).to_string()),
            &[("content-type", "application/json".into())],
        ),
        Mode::HugeLine(size) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let mut first = b"data: ".to_vec();
            first.extend_from_slice(&chunk);
            let count = size / chunk.len();
            let items = std::iter::once(Bytes::from(first))
                .chain(std::iter::repeat_n(chunk, count))
                .map(Ok::<_, std::io::Error>);
            // The line never ends: only a cap can stop the reader.
            let body = stream::iter(items).chain(stream::pending());
            respond(
                200,
                Body::from_stream(body),
                &[("content-type", "text/event-stream".into())],
            )
        }
        Mode::HugeBody(size) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let items =
                std::iter::repeat_n(chunk, size / (64 * 1024) + 1).map(Ok::<_, std::io::Error>);
            respond(
                200,
                Body::from_stream(stream::iter(items)),
                &[("content-type", "application/json".into())],
            )
        }
    }
}

fn stream_answer(path: &str) -> Response {
    let events: Vec<String> = if path.ends_with("/v1/messages") {
        let ev = |name: &str, v: serde_json::Value| format!("event: {name}\ndata: {v}\n\n");
        vec![
            ev(
                "message_start",
                json!({"type": "message_start", "message": {"id": "m", "role": "assistant", "usage": {"input_tokens": 3, "output_tokens": 1}}}),
            ),
            ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ),
            ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ANSWER}}),
            ),
            ev(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
            ev(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
            ),
            ev("message_stop", json!({"type": "message_stop"})),
        ]
    } else if path.contains(":streamGenerateContent") {
        vec![format!(
            "data: {}\n\n",
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ANSWER}]}, "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}})
        )]
    } else {
        vec![
            format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {"content": ANSWER}}]})
            ),
            format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            ),
            format!(
                "data: {}\n\n",
                json!({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
            ),
            "data: [DONE]\n\n".to_string(),
        ]
    };
    let items = events.into_iter().map(Ok::<_, std::io::Error>);
    respond(
        200,
        Body::from_stream(stream::iter(items)),
        &[("content-type", "text/event-stream".into())],
    )
}

fn respond(status: u16, body: Body, headers: &[(&'static str, String)]) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        resp.headers_mut().insert(*k, v.parse().unwrap());
    }
    resp
}
