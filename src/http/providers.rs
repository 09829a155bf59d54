//! `GET /providers` — the inference providers the gateway knows, their models from the price
//! table and their circuit breakers, for building agent forms. Any signed-in caller; no key,
//! and no base URL that carries credentials, is ever returned.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::AppState,
    auth::AuthUser,
    providers::{self, BreakerInfo, KnownModel, ProviderInfo},
};

/// Routes of the providers group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_providers))
}

/// A model the price table knows; prices are USD per million tokens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderModelOut {
    /// Model id (dated ids of the same model share its price).
    pub id: String,
    /// Price of uncached input tokens.
    pub input_per_million: f64,
    /// Price of output tokens.
    pub output_per_million: f64,
    /// Price of cached input tokens (`null`: billed as input).
    pub cached_input_per_million: Option<f64>,
    /// Context window in tokens, when known.
    pub context_window: Option<u32>,
}

impl From<KnownModel> for ProviderModelOut {
    fn from(m: KnownModel) -> Self {
        Self {
            id: m.id,
            input_per_million: m.price.input,
            output_per_million: m.price.output,
            cached_input_per_million: m.price.cached_input,
            context_window: m.context_window,
        }
    }
}

/// The operator's circuit breaker of a provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderBreakerOut {
    /// `closed`, `open` or `half_open`.
    pub state: String,
    /// Failures counted in the current window.
    pub failures: u32,
    /// When it last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// While open: when it lets a probe call through again.
    pub retry_at: Option<DateTime<Utc>>,
}

impl From<BreakerInfo> for ProviderBreakerOut {
    fn from(b: BreakerInfo) -> Self {
        Self {
            state: b.state.into(),
            failures: b.failures,
            opened_at: b.opened_at,
            retry_at: b.retry_at,
        }
    }
}

/// One provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderOut {
    /// Provider id, as agents name it in `model.provider`.
    pub id: String,
    /// Wire format: `openai`, `anthropic`, `gemini` or `bedrock`.
    pub wire_format: String,
    /// Whether the operator configured it (a workspace credential can still serve it if not).
    pub configured: bool,
    /// Whether an operator key or AWS credentials are set (the key is never returned).
    pub has_key: bool,
    /// Whether agents naming no provider use it.
    pub is_default: bool,
    /// The base URL (`null` when unset or when it carries credentials).
    pub base_url: Option<String>,
    /// Models the price table knows for it, by id.
    pub models: Vec<ProviderModelOut>,
    /// Its circuit breaker.
    pub breaker: ProviderBreakerOut,
}

impl From<ProviderInfo> for ProviderOut {
    fn from(p: ProviderInfo) -> Self {
        Self {
            id: p.id,
            wire_format: p.wire_format.into(),
            configured: p.configured,
            has_key: p.has_key,
            is_default: p.is_default,
            base_url: p.base_url,
            models: p.models.into_iter().map(Into::into).collect(),
            breaker: p.breaker.into(),
        }
    }
}

/// `GET /providers`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersOut {
    /// Built-in providers first (in the gateway's default order), then custom ones by id.
    pub providers: Vec<ProviderOut>,
    /// Provider of agents that name none.
    pub default_provider: String,
    /// Model of agents that name none.
    pub default_model: String,
}

/// The inference providers, their priced models and their breakers (any signed-in caller).
#[utoipa::path(get, path = "/providers", tag = "providers", security(("bearer" = [])),
    responses((status = 200, body = ProvidersOut)))]
async fn list_providers(State(state): State<AppState>, _user: AuthUser) -> Json<ProvidersOut> {
    let default_provider = state.config.default_provider.clone();
    let list = providers::catalog(&state.providers, &state.pricing, &default_provider);
    Json(ProvidersOut {
        providers: list.into_iter().map(Into::into).collect(),
        default_provider,
        default_model: state.config.default_model.clone(),
    })
}
