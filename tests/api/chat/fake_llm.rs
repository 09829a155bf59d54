//! A fake OpenAI-compatible upstream for chat tests: a real axum server whose replies are
//! computed from each request by a test-supplied function, streamed in the real wire format.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    response::Response,
    routing::post,
};
use futures_util::stream;
use serde_json::{Value, json};

/// What the fake answers to one request.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// Text chunks (streamed one per SSE event).
    pub chunks: Vec<String>,
    /// Tool calls `(name, arguments JSON)`; arguments are split across two chunks.
    pub tool_calls: Vec<(String, String)>,
    /// Delay before each chunk.
    pub delay: Duration,
    /// HTTP error status instead of a stream.
    pub status: Option<u16>,
    /// Prompt/completion tokens reported.
    pub usage: (u64, u64),
    /// Stop after the chunks without a finish or usage (connection cut).
    pub cut: bool,
}

impl Answer {
    pub fn text(text: &str) -> Self {
        Answer {
            chunks: vec![text.to_string()],
            usage: (10, 5),
            ..Default::default()
        }
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
}

type Brain = dyn Fn(&Value, usize) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    brain: Arc<Brain>,
    requests: Arc<Mutex<Vec<Value>>>,
}

/// The running fake.
pub struct FakeLlm {
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeLlm {
    /// Starts a fake whose answer to the n-th request (0-based) is `brain(request, n)`.
    pub async fn start(brain: impl Fn(&Value, usize) -> Answer + Send + Sync + 'static) -> FakeLlm {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            brain: Arc::new(brain),
            requests: requests.clone(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLlm {
            base_url: format!("http://{addr}/v1"),
            requests,
        }
    }

    /// Always the same text.
    pub async fn saying(text: &'static str) -> FakeLlm {
        Self::start(move |_, _| Answer::text(text)).await
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn request(&self, i: usize) -> Value {
        self.requests.lock().unwrap()[i].clone()
    }

    pub fn last_request(&self) -> Value {
        self.requests.lock().unwrap().last().cloned().unwrap()
    }
}

async fn handle(State(shared): State<Shared>, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = {
        let mut r = shared.requests.lock().unwrap();
        r.push(request.clone());
        r.len() - 1
    };
    let answer = (shared.brain)(&request, n);
    if let Some(status) = answer.status {
        return Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"error": {"message": "scripted failure"}}).to_string(),
            ))
            .unwrap();
    }
    let mut events: Vec<String> = Vec::new();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    events.push(chunk(json!({"role": "assistant"}), Value::Null).to_string());
    for text in &answer.chunks {
        events.push(chunk(json!({"content": text}), Value::Null).to_string());
    }
    for (i, (name, args)) in answer.tool_calls.iter().enumerate() {
        let (a, b) = args.split_at(args.len() / 2);
        events.push(chunk(json!({"tool_calls": [{"index": i, "id": format!("call_{n}_{i}"), "type": "function",
            "function": {"name": name, "arguments": a}}]}), Value::Null).to_string());
        events.push(
            chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": b}}]}),
                Value::Null,
            )
            .to_string(),
        );
    }
    if !answer.cut {
        let finish = if answer.tool_calls.is_empty() {
            "stop"
        } else {
            "tool_calls"
        };
        events.push(chunk(json!({}), json!(finish)).to_string());
        events.push(
            json!({"id": "c1", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": answer.usage.0, "completion_tokens": answer.usage.1,
                      "total_tokens": answer.usage.0 + answer.usage.1}})
            .to_string(),
        );
        events.push("[DONE]".to_string());
    }
    let delay = answer.delay;
    let cut = answer.cut;
    let body = stream::unfold((events.into_iter(), cut), move |(mut it, cut)| async move {
        match it.next() {
            Some(e) => {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(format!("data: {e}\n\n"))),
                    (it, cut),
                ))
            }
            None if cut => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Some((Err(std::io::Error::other("cut")), (it, false)))
            }
            None => None,
        }
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .unwrap()
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
