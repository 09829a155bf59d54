//! A fake OTLP/HTTP collector: an axum server that accepts `POST /v1/traces` with an
//! `application/json` body (anything else is answered 404 or 415, so a wrong path or
//! encoding fails the test), records each request, and answers scripted statuses.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    routing::post,
};
use serde_json::{Value, json};

use crate::webhooks::receiver::eventually;

/// One export request the collector accepted for reading.
#[derive(Debug, Clone)]
pub struct Export {
    pub headers: HeaderMap,
    pub body: Value,
}

impl Export {
    /// Every span of the request.
    pub fn spans(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for rs in self.body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                out.extend(ss["spans"].as_array().into_iter().flatten().cloned());
            }
        }
        out
    }
}

#[derive(Default)]
struct Shared {
    /// Requests answered 200, in arrival order.
    exports: Mutex<Vec<Export>>,
    /// Every request, whatever it was answered.
    hits: Mutex<usize>,
    /// Statuses for the next requests; then 200.
    script: Mutex<VecDeque<u16>>,
    delay: Mutex<Duration>,
}

/// The running collector.
pub struct Collector {
    /// `http://127.0.0.1:port` — what `ASTRA_OTLP_ENDPOINT` is set to.
    pub endpoint: String,
    shared: Arc<Shared>,
}

async fn traces(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    *s.hits.lock().unwrap() += 1;
    let delay = *s.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some("application/json") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Json(json!({})));
    }
    let scripted = s.script.lock().unwrap().pop_front();
    if let Some(status) = scripted {
        return (StatusCode::from_u16(status).unwrap(), Json(json!({})));
    }
    let body: Value = serde_json::from_slice(&body).expect("an OTLP/JSON body");
    s.exports.lock().unwrap().push(Export { headers, body });
    (StatusCode::OK, Json(json!({"partialSuccess": {}})))
}

impl Collector {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Collector { endpoint, shared }
    }

    /// The next requests get these statuses (and are not recorded as exports).
    pub fn then_answer(&self, statuses: &[u16]) {
        self.shared.script.lock().unwrap().extend(statuses);
    }

    /// Every request waits this long before it is answered.
    pub fn delay(&self, delay: Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    /// Requests received, whatever the answer.
    pub fn hits(&self) -> usize {
        *self.shared.hits.lock().unwrap()
    }

    pub fn exports(&self) -> Vec<Export> {
        self.shared.exports.lock().unwrap().clone()
    }

    /// The accepted spans of trace `trace_id` (OTLP hex), in arrival order.
    pub fn spans_of(&self, trace_id: &str) -> Vec<Value> {
        self.exports()
            .iter()
            .flat_map(Export::spans)
            .filter(|s| s["traceId"] == trace_id)
            .collect()
    }

    /// Waits until `n` spans of `trace_id` arrived.
    pub async fn wait_for(&self, trace_id: &str, n: usize) -> Vec<Value> {
        eventually(|| async {
            let spans = self.spans_of(trace_id);
            (spans.len() >= n).then_some(spans)
        })
        .await
    }
}
