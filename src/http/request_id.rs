//! Request ids and response hardening.
//!
//! One middleware reads `X-Request-ID` (or makes a UUIDv7), opens a tracing span carrying it,
//! keeps it in a task-local (`crate::request_ctx`) so error bodies can quote it, echoes it on the response, and adds the
//! security headers. One layer instead of six keeps the hot path short.

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

use crate::request_ctx;

/// The `X-Request-ID` header name.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub use crate::request_ctx::current;

/// Accepts a client-supplied id only if it is short and printable, so logs stay clean.
fn accept_client_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_string())
}

const SECURITY_HEADERS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains",
    ),
];

/// The request-context middleware (see the module docs).
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(accept_client_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        replica = crate::cluster::replica_id(),
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = std::time::Instant::now();
    let mut response =
        request_ctx::scope(id.clone(), next.run(request).instrument(span.clone())).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "served"
        );
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID.clone(), value);
    }
    // A handler's own policy wins (the web console's CSP allows its scripts and styles).
    for (name, value) in &SECURITY_HEADERS {
        headers
            .entry(name.clone())
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}
