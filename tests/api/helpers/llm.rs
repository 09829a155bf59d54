//! The one fake LLM upstream of the suite: a real axum server on 127.0.0.1:0 that records
//! every request (path, headers with credentials, body) and answers each with a scripted
//! [`Reply`]. Answers are rendered in the wire format the path asks for (OpenAI Chat
//! Completions, Anthropic Messages, Gemini, Bedrock Converse with real event-stream frames),
//! streamed or not as the request says; raw replies cover status codes, hangs, redirects,
//! broken streams, hand-made (or corrupted) binary frames and oversized bodies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use super::wire;

/// A model answer: text and tool calls, rendered in the format the request's path asks for.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// Text chunks (streamed one per event).
    pub chunks: Vec<String>,
    /// Tool calls `(name, arguments JSON)`; streamed arguments are split across two chunks.
    pub tool_calls: Vec<(String, String)>,
    /// Delay before each streamed event.
    pub delay: Duration,
    /// HTTP error status (body `{"error":{"message":"scripted failure"}}`) instead.
    pub status: Option<u16>,
    /// Prompt/completion tokens reported.
    pub usage: (u64, u64),
    /// Stop after the chunks without a finish or usage, then cut the connection.
    pub cut: bool,
}

impl Answer {
    pub fn text(text: &str) -> Self {
        Self::chunks(&[text])
    }
    pub fn chunks(chunks: &[&str]) -> Self {
        Answer {
            chunks: chunks.iter().map(|c| c.to_string()).collect(),
            usage: (10, 5),
            ..Default::default()
        }
    }
    pub fn tool(name: &str, args: Value) -> Self {
        Answer {
            tool_calls: vec![(name.to_string(), args.to_string())],
            usage: (12, 7),
            ..Default::default()
        }
    }
    pub fn error(status: u16) -> Self {
        Answer {
            status: Some(status),
            ..Default::default()
        }
    }
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
    pub fn usage(mut self, prompt: u64, completion: u64) -> Self {
        self.usage = (prompt, completion);
        self
    }
}

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A model answer in the request's wire format.
    Answer(Answer),
    /// A complete body with a status and extra headers.
    Json {
        status: u16,
        body: String,
        headers: Vec<(&'static str, String)>,
    },
    /// A raw SSE body sent chunk by chunk, `delay` apart; `cut` aborts the connection after.
    Sse {
        chunks: Vec<String>,
        delay: Duration,
        cut: bool,
    },
    /// Raw binary event-stream frames (see [`super::eventstream`]), one body chunk each;
    /// `cut` aborts the connection after.
    Frames { frames: Vec<Vec<u8>>, cut: bool },
    /// Wait this long before answering 200 `{}` (for timeouts).
    Hang(Duration),
    /// `307` to this base URL + the same path and query.
    RedirectTo(String),
    /// One SSE line of this many bytes, sent in 64 KiB chunks, then silence (no newline).
    HugeLine(usize),
    /// An event-stream frame whose (valid) prelude announces this many bytes, followed by
    /// that many filler bytes (for the frame cap).
    HugeFrame(usize),
    /// A non-streaming 200 body of this many bytes (for the body cap).
    HugeBody(usize),
}

impl From<Answer> for Reply {
    fn from(a: Answer) -> Self {
        Reply::Answer(a)
    }
}

/// The text [`Reply::recorded`] answers.
pub const ANSWER: &str = "recorded-answer";
/// Marker in [`Reply::leaky_failure`] bodies: it must never appear in a client-visible response.
pub const UPSTREAM_SECRET_BODY: &str = "upstream-body-echo-of-your-key";

impl Reply {
    /// A short valid answer ([`ANSWER`], 3 + 2 tokens) in whatever format the path asks for.
    pub fn recorded() -> Self {
        Answer::text(ANSWER).usage(3, 2).into()
    }
    /// This status with an upstream body that must never reach a client.
    pub fn leaky_failure(status: u16) -> Self {
        Reply::Json {
            status,
            body: json!({"error": {"message": UPSTREAM_SECRET_BODY}}).to_string(),
            headers: vec![("content-type", "application/json".into())],
        }
    }
    pub fn json(status: u16, body: Value) -> Self {
        Self::status(status, &body.to_string())
    }
    pub fn status(status: u16, body: &str) -> Self {
        Reply::Json {
            status,
            body: body.to_string(),
            headers: vec![],
        }
    }
    pub fn sse(chunks: Vec<String>) -> Self {
        Reply::Sse {
            chunks,
            delay: Duration::ZERO,
            cut: false,
        }
    }
    pub fn frames(frames: Vec<Vec<u8>>) -> Self {
        Reply::Frames { frames, cut: false }
    }
    pub fn sse_cut(chunks: Vec<String>) -> Self {
        Reply::Sse {
            chunks,
            delay: Duration::ZERO,
            cut: true,
        }
    }
}

/// `data: …` events, one per item.
pub fn data_events(items: &[Value]) -> Vec<String> {
    items.iter().map(|v| format!("data: {v}\n\n")).collect()
}

/// A request the fake received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path_and_query: String,
    /// The path alone.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Headers that carry provider credentials.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "x-amz-security-token",
];

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The credential headers it carried, `(name, value)`.
    pub fn credentials(&self) -> Vec<(String, String)> {
        CREDENTIAL_HEADERS
            .iter()
            .filter_map(|h| self.header(h).map(|v| (h.to_string(), v)))
            .collect()
    }
}

type Brain = dyn Fn(&Value, usize) -> Reply + Send + Sync;

struct Shared {
    brain: Box<Brain>,
    received: Mutex<Vec<Received>>,
}

/// A running fake upstream.
pub struct FakeLlm {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// `{url}/v1`, the OpenAI-style base URL.
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakeLlm {
    /// Starts a fake whose reply to the n-th request (0-based) is `brain(request JSON, n)`.
    pub async fn start<R: Into<Reply>>(
        brain: impl Fn(&Value, usize) -> R + Send + Sync + 'static,
    ) -> FakeLlm {
        let shared = Arc::new(Shared {
            brain: Box::new(move |req, n| brain(req, n).into()),
            received: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let base_url = format!("{url}/v1");
        FakeLlm {
            url,
            base_url,
            shared,
        }
    }

    /// Answers with the replies in order; once they run out, 500 "script exhausted".
    pub async fn scripted(script: Vec<Reply>) -> FakeLlm {
        let script = Mutex::new(VecDeque::from(script));
        Self::start(move |_, _| {
            let next = script.lock().unwrap().pop_front();
            next.unwrap_or_else(|| Reply::status(500, "script exhausted"))
        })
        .await
    }

    /// Always the same reply.
    pub async fn always(reply: Reply) -> FakeLlm {
        Self::start(move |_, _| reply.clone()).await
    }

    /// Always the same text.
    pub async fn saying(text: &'static str) -> FakeLlm {
        Self::start(move |_, _| Answer::text(text)).await
    }

    pub fn hits(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn received(&self, i: usize) -> Received {
        self.shared.received.lock().unwrap()[i].clone()
    }

    /// The JSON body of the i-th request.
    pub fn request(&self, i: usize) -> Value {
        self.received(i).json()
    }

    pub fn last_request(&self) -> Value {
        self.seen().last().unwrap().json()
    }

    /// Every credential value received so far.
    pub fn credential_values(&self) -> Vec<String> {
        let seen = self.seen().into_iter();
        seen.flat_map(|s| s.credentials().into_iter().map(|(_, v)| v))
            .collect()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = Received {
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    };
    let request = received.json();
    let path = received.path.clone();
    let n = {
        let mut all = shared.received.lock().unwrap();
        all.push(received);
        all.len() - 1
    };
    match (shared.brain)(&request, n) {
        Reply::Answer(a) => wire::answer(&path, &request, n, &a),
        Reply::Json {
            status,
            body,
            headers,
        } => respond(status, Body::from(body), &headers),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            respond(200, Body::from("{}"), &[])
        }
        Reply::Sse { chunks, delay, cut } => sse(chunks, delay, cut),
        Reply::Frames { frames, cut } => {
            let frames = frames.into_iter().map(Bytes::from).collect();
            let kind = "application/vnd.amazon.eventstream";
            wire::stream_bytes(frames, Duration::ZERO, cut, kind)
        }
        Reply::RedirectTo(base) => {
            let target = format!("{base}{}", uri.path_and_query().map_or("", |p| p.as_str()));
            respond(307, Body::empty(), &[("location", target)])
        }
        Reply::HugeLine(size) => huge_line(size),
        Reply::HugeFrame(size) => {
            let total = u32::try_from(size).unwrap_or(u32::MAX);
            let head = Bytes::from(super::eventstream::prelude(total, 0));
            let chunk = Bytes::from(vec![0u8; 64 * 1024]);
            let items = std::iter::once(head)
                .chain(std::iter::repeat_n(chunk, size / (64 * 1024)))
                .map(Ok::<_, std::io::Error>);
            let kind = [("content-type", "application/vnd.amazon.eventstream".into())];
            respond(200, Body::from_stream(stream::iter(items)), &kind)
        }
        Reply::HugeBody(size) => {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let items =
                std::iter::repeat_n(chunk, size / (64 * 1024) + 1).map(Ok::<_, std::io::Error>);
            let json = [("content-type", "application/json".into())];
            respond(200, Body::from_stream(stream::iter(items)), &json)
        }
    }
}

/// Streams raw SSE chunks; `delay` separates them (the first goes out at once).
pub(super) fn sse(chunks: Vec<String>, delay: Duration, cut: bool) -> Response {
    let items = chunks
        .into_iter()
        .map(Ok::<_, std::io::Error>)
        .chain(cut.then(|| Err(std::io::Error::other("cut"))));
    let body = stream::unfold(
        (items.collect::<VecDeque<_>>(), true),
        move |(mut q, first)| async move {
            let item = q.pop_front()?;
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            // Let the chunks reach the client before the connection is aborted.
            if item.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Some((item, (q, false)))
        },
    );
    let headers = [("content-type", "text/event-stream".to_string())];
    respond(200, Body::from_stream(body), &headers)
}

/// One endless SSE line: only a cap in the reader can stop it.
fn huge_line(size: usize) -> Response {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let mut first = b"data: ".to_vec();
    first.extend_from_slice(&chunk);
    let count = size / chunk.len();
    let items = std::iter::once(Bytes::from(first))
        .chain(std::iter::repeat_n(chunk, count))
        .map(Ok::<_, std::io::Error>);
    let body = stream::iter(items).chain(stream::pending());
    let sse = [("content-type", "text/event-stream".into())];
    respond(200, Body::from_stream(body), &sse)
}

pub(super) fn respond(status: u16, body: Body, headers: &[(&'static str, String)]) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        resp.headers_mut().insert(*k, v.parse().unwrap());
    }
    resp
}

/// The scripted failure body of [`Answer::error`].
pub(super) fn failure_body() -> String {
    json!({"error": {"message": "scripted failure"}}).to_string()
}

/// True when the request carries a tool result message.
pub fn has_tool_result(request: &Value) -> bool {
    request["messages"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["role"] == "tool"))
}

/// True when the request offers tools.
pub fn offers_tools(request: &Value) -> bool {
    request["tools"].as_array().is_some_and(|t| !t.is_empty())
}

/// The content of the last user message.
pub fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}
