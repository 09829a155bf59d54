//! HTTP surface: one module per route group, each with its own `router()`, merged here with
//! the OpenAPI document, JSON fallbacks and the cross-cutting layers.

pub mod admin;
pub mod agents;
pub mod auth;
pub mod autonomous;
pub mod chat;
pub mod costs;
pub mod diagnostics;
pub mod dto;
pub mod error_schema;
pub mod extract;
pub mod heartbeat;
mod idempotency;
pub mod jobs;
pub mod memory;
pub mod memory_profiles;
pub mod onboarding;
mod openapi;
pub mod provider_credentials;
pub mod request_id;
pub mod sessions;
pub mod signing_keys;
pub mod skills;
pub mod system;
pub mod tool_cache;
pub mod traces;
pub mod validate;
pub mod webhooks;
pub mod workspaces;

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, Method},
    middleware,
    routing::get,
};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{app::AppState, error::ApiError};

/// JSON bodies above this size are refused with 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Builds the whole application router.
pub fn router(state: AppState) -> Router {
    let (routes, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(system::router())
        .merge(auth::router())
        .merge(workspaces::router())
        .merge(provider_credentials::router())
        .merge(agents::router())
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
        .split_for_parts();
    openapi::finish(&mut doc);
    let doc = Arc::new(serde_json::to_value(&doc).unwrap_or_default());
    let cors = cors_layer(&state.config.cors_origins);
    routes
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&doc);
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(|| async { ApiError::NotFound("No such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(cors)
        .layer(middleware::from_fn(request_id::middleware))
        .with_state(state)
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
