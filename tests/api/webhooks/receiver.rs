//! A local HTTP server for worker tests: captures every request (webhook deliveries, job
//! calls, monitor checks) and answers with scripted statuses, a delay and a body.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

/// One captured request.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Captured {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Script {
    /// Statuses for the next requests, in order; then `default_status`.
    queue: VecDeque<u16>,
    default_status: u16,
    delay: Duration,
    body: String,
    content_type: String,
}

#[derive(Clone, Default)]
struct Shared {
    captured: Arc<Mutex<Vec<Captured>>>,
    script: Arc<Mutex<Script>>,
}

/// The running server.
pub struct Receiver {
    /// `http://127.0.0.1:port`
    pub base: String,
    shared: Shared,
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.captured.lock().unwrap().push(Captured {
        method,
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (status, delay, body, content_type) = {
        let mut script = s.script.lock().unwrap();
        let status = script.queue.pop_front().unwrap_or(script.default_status);
        (
            status,
            script.delay,
            script.body.clone(),
            script.content_type.clone(),
        )
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(status).unwrap();
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Shared::default();
        {
            let mut s = shared.script.lock().unwrap();
            s.default_status = 200;
            s.body = "ok".into();
            s.content_type = "text/plain".into();
        }
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next requests get these statuses, in order.
    pub fn then_answer(&self, statuses: &[u16]) {
        self.shared
            .script
            .lock()
            .unwrap()
            .queue
            .extend(statuses.iter().copied());
    }

    /// Status once the queue is empty.
    pub fn always_answer(&self, status: u16) {
        self.shared.script.lock().unwrap().default_status = status;
    }

    pub fn delay(&self, delay: Duration) {
        self.shared.script.lock().unwrap().delay = delay;
    }

    pub fn serve_body(&self, body: &str, content_type: &str) {
        let mut s = self.shared.script.lock().unwrap();
        s.body = body.to_string();
        s.content_type = content_type.to_string();
    }

    pub fn captured(&self) -> Vec<Captured> {
        self.shared.captured.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        eventually(|| async {
            let c = self.captured();
            (c.len() >= n).then_some(c)
        })
        .await
    }
}

/// Polls `check` until it yields a value (15 s at most; generous for PostgreSQL in CI).
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 15 s");
}
