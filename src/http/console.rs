//! The web console (issue #17): a Preact + htm single-page app embedded in the binary and
//! served under a configurable prefix (`ASTRA_CONSOLE_PATH`, `/console` by default).
//!
//! Not part of the API: its routes are not in `/openapi.json` and are mounted outside the
//! credential check of [`super::require_credentials`]: the static files are public by nature,
//! and the session routes of [`super::console_session`] carry their own credential (the
//! password, or the refresh-token cookie; logout checks the bearer token itself). Every
//! response carries a strict Content-Security-Policy; files carry an ETag (304 on a match) and
//! a `Cache-Control`. The app speaks only the public API, with the access token in memory.

use axum::{
    Router,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};

use super::{assets, console_session};
use crate::{app::AppState, error::ApiError};

/// The console's routes under `prefix` (e.g. `/console`).
pub fn router(prefix: &str) -> Router<AppState> {
    let slash = format!("{prefix}/");
    Router::new()
        .route(
            prefix,
            get(move || {
                let to = Redirect::permanent(&slash);
                async move { to }
            }),
        )
        .route(&format!("{prefix}/"), get(index))
        .route(&format!("{prefix}/{{*path}}"), get(file))
        .route(
            &format!("{prefix}/session/register"),
            post(console_session::register),
        )
        .route(
            &format!("{prefix}/session/login"),
            post(console_session::login),
        )
        .route(
            &format!("{prefix}/session/refresh"),
            post(console_session::refresh),
        )
        .route(
            &format!("{prefix}/session/logout"),
            post(console_session::logout),
        )
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    // Embedded names only: no parent segments, no absolute or Windows paths (debug builds
    // read the folder from disk).
    let plain = !path.split('/').any(|s| s == ".." || s.is_empty()) && !path.contains('\\');
    let Some(asset) = assets::get(path).filter(|_| plain) else {
        return ApiError::NotFound("No such console file".into()).into_response();
    };
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = asset.bytes.into_owned().into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(asset.cache_control),
    );
    security_headers(h);
    response
}

/// The headers every console response carries: the CSP (allowing the import map of the
/// embedded `index.html` by hash), no sniffing, no framing, no referrer.
pub(super) fn security_headers(h: &mut HeaderMap) {
    let index = assets::get("index.html")
        .map(|a| a.bytes)
        .unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&assets::content_security_policy(&index)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}
