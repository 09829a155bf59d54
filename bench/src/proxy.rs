//! The bare pass-through proxy: the reference hop. It forwards `POST /v1/chat/completions` to the
//! upstream with reqwest and streams the answer back, doing nothing else, so its overhead is the
//! floor any gateway hop pays on this machine (one extra accept, parse, connect-pool and copy).

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
    serve::ListenerExt,
};
use bytes::Bytes;
use tokio::net::TcpListener;

#[derive(Clone)]
struct Hop {
    client: reqwest::Client,
    url: String,
}

/// Serves the proxy on `listener`, forwarding to `upstream` (e.g. `http://127.0.0.1:9000/v1`).
pub async fn serve(listener: TcpListener, upstream: &str) -> anyhow::Result<()> {
    let hop = Hop {
        client: reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(usize::MAX)
            .build()?,
        url: format!("{}/chat/completions", upstream.trim_end_matches('/')),
    };
    let app = Router::new()
        .route("/v1/chat/completions", post(forward))
        .with_state(hop);
    // Nagle's algorithm plus delayed ACKs would add ~40 ms to every multi-write answer.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn forward(State(hop): State<Hop>, headers: HeaderMap, body: Bytes) -> Response {
    let mut rb = hop.client.post(&hop.url).body(body);
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(v) = headers.get(&name) {
            rb = rb.header(name, v);
        }
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let mut out = Response::builder().status(resp.status());
    if let Some(ct) = resp.headers().get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    out.body(Body::from_stream(resp.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}
