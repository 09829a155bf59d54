//! A scripted fake upstream: a real axum server on 127.0.0.1:0 that answers each request
//! with the next scripted reply and records what it received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use astra::providers::{
    ChatRequest, InferenceConfig, ManualClock, Message, ProviderRegistry, Role,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use futures_util::stream;
use serde_json::Value;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete body with a status and extra headers.
    Json {
        status: u16,
        body: String,
        headers: Vec<(&'static str, String)>,
    },
    /// An SSE body sent chunk by chunk, `delay` apart; `cut` aborts the connection after them.
    Sse {
        chunks: Vec<String>,
        delay: Duration,
        cut: bool,
    },
    /// Wait this long before answering 200 `{}` (for timeouts).
    Hang(Duration),
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply::Json {
            status,
            body: body.to_string(),
            headers: vec![],
        }
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
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

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
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    received: Mutex<Vec<Received>>,
}

/// A running fake upstream.
pub struct Fake {
    pub url: String,
    shared: Arc<Shared>,
}

impl Fake {
    pub async fn start(script: Vec<Reply>) -> Fake {
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            ..Default::default()
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Fake { url, shared }
    }

    pub fn hits(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    pub fn received(&self, i: usize) -> Received {
        self.shared.received.lock().unwrap()[i].clone()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.received.lock().unwrap().push(Received {
        path_and_query: uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers,
        body: body.to_vec(),
    });
    let next = shared.script.lock().unwrap().pop_front();
    match next {
        None => respond(500, Body::from("script exhausted"), &[]),
        Some(Reply::Json {
            status,
            body,
            headers,
        }) => respond(status, Body::from(body), &headers),
        Some(Reply::Hang(d)) => {
            tokio::time::sleep(d).await;
            respond(200, Body::from("{}"), &[])
        }
        Some(Reply::Sse { chunks, delay, cut }) => {
            let items = chunks
                .into_iter()
                .map(Ok::<_, std::io::Error>)
                .chain(cut.then(|| Err(std::io::Error::other("cut"))));
            // `delay` separates chunks: the first goes out at once.
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
    }
}

fn respond(status: u16, body: Body, headers: &[(&'static str, String)]) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        resp.headers_mut().insert(*k, v.parse().unwrap());
    }
    resp
}

/// An environment lookup over fixed pairs.
pub fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Inference config with fast retries; `inference` is merged over the test defaults.
pub fn config(inference: Value, env_pairs: &[(&str, &str)]) -> InferenceConfig {
    let mut base = serde_json::json!({
        "retries": {"maxRetries": 2, "baseDelayMs": 2},
        "timeoutMs": 2000,
    });
    merge(&mut base, inference);
    InferenceConfig::from_sources(Some(&base), &env(env_pairs)).unwrap()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

pub fn registry(inference: Value, env_pairs: &[(&str, &str)]) -> ProviderRegistry {
    ProviderRegistry::new(config(inference, env_pairs)).unwrap()
}

pub fn registry_with_clock(inference: Value, clock: Arc<ManualClock>) -> ProviderRegistry {
    ProviderRegistry::with_clock(config(inference, &[]), clock).unwrap()
}

/// A one-message request.
pub fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message::text(Role::User, text)],
        ..Default::default()
    }
}
