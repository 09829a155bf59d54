//! `GET /metrics/prometheus`: the metrics in the Prometheus text exposition format.
//!
//! The route is on the public list because a scraper's `ASTRA_METRICS_TOKEN` bearer is not a
//! JWT; the handler guards itself: the internal `X-Api-Key` or that token (compared in
//! constant time). Anything else, no credentials or a user's JWT alike, is 403 `FORBIDDEN`:
//! the route is public at the gate (public routes never answer 401, a rule the suite checks),
//! and metrics are operator data no user credential opens.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    Extension,
    extract::State,
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use subtle::ConstantTimeEq;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{error_schema::ErrorOut, extract::InternalKey};
use crate::{
    app::AppState,
    error::{ApiError, ApiResult},
    observability::{gauges, queues::QueueCache},
};

/// The exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The route, with its queue-depth cache.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prometheus))
        .layer(Extension(Arc::new(QueueCache::default())))
}

/// Metrics for Prometheus (text exposition format 0.0.4). Counters and histograms cover the
/// whole process; queue depths may be up to `ASTRA_METRICS_REFRESH_SECS` old.
#[utoipa::path(get, path = "/metrics/prometheus", tag = "system",
    params(("X-Api-Key" = Option<String>, Header, description = "internal key"),
        ("Authorization" = Option<String>, Header, description = "`Bearer <ASTRA_METRICS_TOKEN>`")),
    responses(
        (status = 200, body = String, content_type = "text/plain; version=0.0.4",
            description = "Prometheus text exposition format"),
        (status = 403, body = ErrorOut, description = "neither the internal key nor the metrics token"),
        (status = 503, body = ErrorOut, description = "the database is unavailable")))]
async fn prometheus(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<QueueCache>>,
    internal: Result<InternalKey, ApiError>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if internal.is_err() && !metrics_token_ok(&state, &headers) {
        return Err(ApiError::Forbidden(
            "X-Api-Key or the metrics bearer token required".into(),
        ));
    }
    let depths = cache
        .get(&state.store, state.config.dos.metrics_refresh)
        .await?;
    let breakers = state.providers.breakers().snapshot();
    let body = gauges::render(gauges::Readings {
        metrics: &state.metrics,
        pool: state.store.pool(),
        breakers: breakers
            .into_iter()
            .map(|b| (b.provider, b.state == "open"))
            .collect(),
        open_streams: state.open_streams.load(Ordering::Relaxed),
        ws_connections: state.ws_connections.load(Ordering::Relaxed),
        depths,
    });
    let content_type = HeaderValue::from_static(TEXT_FORMAT);
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// True when `Authorization: Bearer` carries the configured `ASTRA_METRICS_TOKEN`.
fn metrics_token_ok(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = &state.config.metrics_token else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())))
}
