//! The one list of routes that answer without credentials.
//!
//! Every other route is refused with 401 by [`super::require_credentials`] unless the request
//! carries a valid bearer token or the internal API key; the handlers' extractors then make the
//! finer checks (workspace role, key-only routes). A route is public only by being listed here.
//!
//! The one exception is the web console under `ASTRA_CONSOLE_PATH` (`super::console`): it is
//! not an API route (not in `/openapi.json`) and is mounted after this check, because its
//! static files are public by nature and its session routes carry their own credential.

use axum::http::Method;

/// `(method, path template)` of every public route; paths as axum and OpenAPI spell them.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/readiness"),
    // A scraper's ASTRA_METRICS_TOKEN is not a JWT: the handler checks it or the internal key.
    ("GET", "/metrics/prometheus"),
    ("GET", "/openapi.json"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("GET", "/skills"),
    ("GET", "/skills/{id}"),
    ("GET", "/skills/{id}/metrics"),
    ("GET", "/agent/health"),
];

/// True when `method` on the route template `path` needs no credentials (`HEAD` as `GET`).
pub fn is_public(method: &Method, path: &str) -> bool {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    PUBLIC_ROUTES
        .iter()
        .any(|(m, p)| *m == method && *p == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_method_and_path_pairs_are_public() {
        assert!(is_public(&Method::GET, "/skills/{id}"));
        assert!(is_public(&Method::HEAD, "/health"));
        assert!(!is_public(&Method::POST, "/skills/{id}"));
        assert!(!is_public(&Method::GET, "/skills/cache/stats"));
        assert!(!is_public(&Method::GET, "/metrics"));
        assert!(!is_public(&Method::POST, "/auth/logout"));
    }
}
