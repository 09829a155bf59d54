//! HTTP surface: one module per route group, each with its own `router()`, merged here with
//! the OpenAPI document, JSON fallbacks and the cross-cutting layers.

pub mod admin;
pub mod agents;
pub mod api_keys;
mod assets;
pub mod auth;
pub mod autonomous;
pub mod chat;
pub mod client_ip;
pub mod console;
pub mod console_session;
pub mod costs;
pub mod diagnostics;
pub mod dto;
pub mod error_schema;
pub mod extract;
pub mod heartbeat;
mod idempotency;
pub mod jobs;
pub mod mcp;
pub mod mcp_servers;
pub mod memory;
pub mod memory_profiles;
mod metrics_layer;
pub mod onboarding;
pub mod openai;
mod openapi;
pub mod prometheus;
pub mod provider_credentials;
pub mod providers;
pub mod public;
pub mod reply_deliveries;
pub mod request_id;
pub mod sessions;
pub mod signing_keys;
pub mod skills;
pub mod system;
pub mod tool_cache;
pub mod traces;
pub mod user_usage;
pub mod validate;
pub mod webhooks;
pub mod workspaces;
pub mod ws;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State},
    http::{HeaderValue, Method, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{app::AppState, auth::AuthUser, error::ApiError};
use extract::InternalKey;

/// JSON bodies above this size are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let (routes, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(system::router())
        .merge(prometheus::router())
        .merge(auth::router())
        .merge(api_keys::router())
        .merge(workspaces::router())
        .merge(provider_credentials::router())
        .merge(providers::router())
        .merge(agents::router())
        .merge(mcp_servers::router())
        .merge(memory::router())
        .merge(memory_profiles::router())
        .merge(onboarding::router())
        .merge(chat::router())
        .merge(tool_cache::router())
        .merge(skills::router())
        .merge(sessions::router())
        .merge(costs::router())
        .merge(traces::router())
        .merge(admin::router())
        .merge(diagnostics::router())
        .merge(autonomous::router())
        .merge(webhooks::router())
        .merge(jobs::router())
        .merge(heartbeat::router())
        .merge(signing_keys::router())
        .merge(reply_deliveries::router())
        .merge(user_usage::router())
        .merge(openai::router())
        .merge(mcp::router())
        .merge(ws::router())
        .split_for_parts();
    openapi::finish(&mut doc);
    let doc = Arc::new(serde_json::to_value(&doc).unwrap_or_default());
    let cors = cors_layer(&state.config.cors_origins);
    let console = state
        .config
        .console
        .path
        .as_deref()
        .map_or_else(Router::new, console::router);
    routes
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        // Only matched routes pass through it, so unknown paths still 404 and wrong methods 405.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_credentials,
        ))
        // After the credential layer: the console is not an API route (see `console`).
        .merge(console)
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            if openai::is_v1(uri.path()) {
                return openai::unknown_route(&method, uri.path());
            }
            ApiError::NotFound("No such route".into()).into_response()
        })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn(metrics_layer::record))
        .layer(middleware::from_fn(refuse_nul_in_uri))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors)
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// A path or query holding an encoded NUL (`%00`) is refused with a 400: PostgreSQL cannot
/// bind a string containing NUL, so it would fail as a 500 in whatever query the value
/// reached (found with the property tests of issue #12; JSON bodies: `validate::parse_json`).
async fn refuse_nul_in_uri(req: Request, next: Next) -> Response {
    let encoded_nul = req
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str().contains("%00"));
    if encoded_nul {
        return ApiError::field("uri", "must not contain NUL characters (%00)").into_response();
    }
    next.run(req).await
}

/// Authentication by default: a route not on [`public::PUBLIC_ROUTES`] answers 401 unless the
/// request carries a valid bearer token (a JWT, or an API key whose scopes allow the route) or
/// the internal API key. A verified caller is left in
/// the request extensions, so the handler's extractor does not verify it again.
async fn require_credentials(
    State(state): State<AppState>,
    matched: MatchedPath,
    req: Request,
    next: Next,
) -> Response {
    if public::is_public(req.method(), matched.as_str()) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    if matched.as_str() == ws::PATH {
        ws::promote_query_token(&mut parts);
    }
    let refusal = if parts.headers.contains_key(header::AUTHORIZATION) {
        AuthUser::from_request_parts(&mut parts, &state).await.err()
    } else {
        Some(ApiError::Unauthorized(
            "Authentication required (bearer token or X-Api-Key)".into(),
        ))
    };
    if let Some(refusal) = refusal
        && InternalKey::from_request_parts(&mut parts, &state)
            .await
            .is_err()
    {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let base = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(Any)
        .expose_headers([request_id::X_REQUEST_ID.clone()]);
    if origins.iter().any(|o| o == "*") {
        return base.allow_origin(Any);
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    base.allow_origin(AllowOrigin::list(list))
}
