//! Counts every HTTP request for Prometheus by route template (axum's [`MatchedPath`]),
//! method and status, with its latency. Applied with `Router::layer`, which runs after
//! routing, so the template is known; requests no route matched are labelled `unmatched`,
//! so a scan of random paths cannot grow the label set.
//!
//! The latency is the time until the response head: a streaming body (SSE) is not waited for.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
};

/// The middleware.
pub async fn record(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = method_label(req.method());
    let res = next.run(req).await;
    crate::observability::http_request(&route, method, res.status().as_u16(), started.elapsed());
    res
}

/// Standard methods by name, anything else as `other` (methods are client-chosen strings).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
