//! The provider registry: builds adapters from the configuration, caches them per
//! (provider, base URL, credentials), and owns the breakers.
//!
//! This is where the credential rule is enforced, whatever the layers above decided:
//! the operator's key (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key`, SigV4) is
//! attached only at the provider's configured base URL, an `inference.allowedEndpoints`
//! entry, or an endpoint of a global agent. Any other endpoint is called through the
//! outbound guard (private ranges refused, DNS answers vetted and pinned) with the
//! workspace's own key or with no key at all. No provider client follows redirects: a
//! redirect would carry the request's headers to a host nobody vetted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::redirect::Policy;

use super::anthropic::Anthropic;
use super::bedrock::Bedrock;
use super::breaker::{BreakerKey, CircuitBreakers, Clock, SystemClock};
use super::endpoint::{AllowedEndpoint, base_text, normalise};
use super::error::ProviderError;
use super::gemini::Gemini;
use super::openai_compat::OpenAiCompat;
use super::target::{Credentials, Target};
use super::types::Provider;
use crate::config::inference::{InferenceConfig, ProviderConfig, WireFormat};

/// Connection attempts are bounded separately: a dead host should fail fast and be retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most cached clients; tenant endpoints could otherwise grow the cache without bound.
const MAX_CACHED: usize = 1024;

/// Whose key a resolved call carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Operator,
    Workspace(String),
    None,
}

/// (provider, base URL, key scope, guarded).
type CacheKey = (String, String, Key, bool);

/// A provider client ready for one target, with the breaker its calls feed.
pub struct Resolved {
    /// The adapter.
    pub provider: Arc<dyn Provider>,
    /// The breaker of this (provider, base URL, credentials).
    pub breaker: BreakerKey,
}

/// Hands out provider clients.
pub struct ProviderRegistry {
    config: InferenceConfig,
    client: reqwest::Client,
    guarded: reqwest::Client,
    cache: Mutex<HashMap<CacheKey, Arc<dyn Provider>>>,
    overrides: Mutex<HashMap<String, Arc<dyn Provider>>>,
    breakers: Arc<CircuitBreakers>,
}

impl ProviderRegistry {
    /// A registry on the real clock.
    pub fn new(config: InferenceConfig) -> Result<Self, ProviderError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A registry whose breakers read time from `clock`.
    pub fn with_clock(
        config: InferenceConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ProviderError> {
        let connect = CONNECT_TIMEOUT.min(config.timeout);
        let build = |b: reqwest::ClientBuilder| {
            b.connect_timeout(connect)
                // Bounds each read, so a stalled stream fails even without the resilient layer.
                .read_timeout(config.timeout)
                .redirect(Policy::none())
                .build()
                .map_err(|e| ProviderError::InvalidConfig(format!("http client: {e}")))
        };
        let client = build(reqwest::Client::builder())?;
        let guarded = build(crate::net::guarded_builder(config.allow_private_urls))?;
        let breakers = Arc::new(CircuitBreakers::new(config.circuit_breaker, clock));
        Ok(Self {
            config,
            client,
            guarded,
            cache: Mutex::new(HashMap::new()),
            overrides: Mutex::new(HashMap::new()),
            breakers,
        })
    }

    /// The configuration the registry was built from.
    pub fn config(&self) -> &InferenceConfig {
        &self.config
    }

    /// The circuit breakers.
    pub fn breakers(&self) -> &Arc<CircuitBreakers> {
        &self.breakers
    }

    /// Serve `provider.id()` with this implementation instead of the configured adapter
    /// (in-process fakes for agent tests, custom backends).
    pub fn register(&self, provider: Arc<dyn Provider>) {
        let mut overrides = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        overrides.insert(provider.id().to_string(), provider);
    }

    /// The client for `provider_id` with the operator's credentials rules, at
    /// `endpoint_override` when given (see [`ProviderRegistry::resolve`]).
    pub fn get(
        &self,
        provider_id: &str,
        endpoint_override: Option<&str>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        let mut target = Target::new(provider_id, "");
        target.endpoint = endpoint_override.map(str::to_string);
        self.resolve(&target).map(|r| r.provider)
    }

    /// Whether the operator's keys may be sent to `endpoint` for `provider_id`: it lies under
    /// the provider's configured base URL or an `allowedEndpoints` entry.
    pub fn operator_may_call(&self, provider_id: &str, endpoint: &str) -> bool {
        let Some(url) = normalise(endpoint) else {
            return false;
        };
        let configured = self
            .config
            .provider(provider_id)
            .and_then(|c| AllowedEndpoint::parse(&c.base_url).ok());
        configured.iter().any(|c| c.matches(&url))
            || self
                .config
                .allowed_endpoints
                .iter()
                .any(|a| a.matches(&url))
    }

    /// Whether the operator has credentials for `provider_id` (so an endpoint override
    /// without a workspace key would have to go keyless).
    pub fn operator_has_key(&self, provider_id: &str) -> bool {
        self.config
            .provider(provider_id)
            .is_some_and(|c| c.api_key.is_some() || c.aws.is_some())
    }

    /// The client and breaker for `target`, applying the credential rule of the module docs.
    pub fn resolve(&self, target: &Target) -> Result<Resolved, ProviderError> {
        let provider_id = target.provider.as_str();
        let overrides = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = overrides.get(provider_id) {
            return Ok(Resolved {
                provider: p.clone(),
                breaker: BreakerKey::Provider(provider_id.to_string()),
            });
        }
        drop(overrides);
        let cfg = self
            .config
            .provider(provider_id)
            .ok_or_else(|| not_configured(provider_id))?;
        let endpoint = target
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty());
        let (base, key, trusted) = match (&target.credentials, endpoint) {
            (Credentials::Workspace(w), endpoint) => {
                let base = endpoint.or(w.base_url.as_deref());
                match base {
                    Some(b) if !self.operator_may_call(provider_id, b) => {
                        (b.to_string(), Key::Workspace(w.id.clone()), false)
                    }
                    Some(b) => (b.to_string(), Key::Workspace(w.id.clone()), true),
                    None => (cfg.base_url.clone(), Key::Workspace(w.id.clone()), true),
                }
            }
            (Credentials::Operator, None) => (cfg.base_url.clone(), Key::Operator, true),
            (Credentials::Operator, Some(e))
                if target.operator_endpoint || self.operator_may_call(provider_id, e) =>
            {
                (e.to_string(), Key::Operator, true)
            }
            // Defence in depth: whatever validation let through, a tenant's endpoint never
            // receives the operator's key.
            (Credentials::Operator, Some(e)) => (e.to_string(), Key::None, false),
        };
        let base = match normalise(&base) {
            Some(url) if !trusted => {
                crate::net::check_url(&url, self.config.allow_private_urls)
                    .map_err(|e| ProviderError::EndpointRefused(e.to_string()))?;
                base_text(&url)
            }
            Some(url) => base_text(&url),
            // The configured base URL of Bedrock may be empty until a region is known.
            None if trusted && base == cfg.base_url => base,
            None => {
                return Err(ProviderError::EndpointRefused(
                    "endpoint is not an http(s) URL".into(),
                ));
            }
        };
        let breaker = match (&key, base == base_text_of(cfg)) {
            (Key::Operator, true) => BreakerKey::Provider(provider_id.to_string()),
            (key, _) => BreakerKey::Scoped {
                provider: provider_id.to_string(),
                base_url: base.clone(),
                scope: match key {
                    Key::Operator => "operator".into(),
                    Key::None => "none".into(),
                    Key::Workspace(id) => id.clone(),
                },
            },
        };
        let cache_key = (provider_id.to_string(), base.clone(), key.clone(), !trusted);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&cache_key) {
            return Ok(Resolved {
                provider: p.clone(),
                breaker,
            });
        }
        let client = if trusted {
            self.client.clone()
        } else {
            self.guarded.clone()
        };
        let api_key = match &key {
            Key::Operator => cfg.api_key.clone(),
            Key::Workspace(_) => match &target.credentials {
                Credentials::Workspace(w) => Some(w.api_key.expose().to_string()),
                Credentials::Operator => None,
            },
            Key::None => None,
        };
        let provider = build(cfg, provider_id, client, base, api_key, &key, endpoint)?;
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(cache_key, provider.clone());
        Ok(Resolved { provider, breaker })
    }
}

fn not_configured(provider: &str) -> ProviderError {
    ProviderError::NotConfigured {
        provider: provider.to_string(),
    }
}

/// The configured base URL in the normalised form used for comparisons.
fn base_text_of(cfg: &ProviderConfig) -> String {
    normalise(&cfg.base_url)
        .map(|u| base_text(&u))
        .unwrap_or_else(|| cfg.base_url.clone())
}

/// Builds the adapter for one resolved (base URL, key).
fn build(
    cfg: &ProviderConfig,
    provider_id: &str,
    client: reqwest::Client,
    base: String,
    api_key: Option<String>,
    key: &Key,
    endpoint: Option<&str>,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let operator = *key == Key::Operator;
    Ok(match cfg.wire {
        WireFormat::OpenAi => {
            // Hosted OpenAI-style APIs need a key; local servers (and explicit endpoints) may not.
            let keyless_ok = matches!(provider_id, "ollama" | "vllm")
                || endpoint.is_some()
                || !operator
                || !crate::config::inference::PROVIDER_IDS.contains(&provider_id);
            if api_key.is_none() && !keyless_ok {
                return Err(not_configured(provider_id));
            }
            Arc::new(OpenAiCompat::new(provider_id, client, base, api_key))
        }
        WireFormat::Anthropic => {
            if operator && api_key.is_none() {
                return Err(not_configured(provider_id));
            }
            Arc::new(Anthropic::new(client, base, api_key))
        }
        WireFormat::Gemini => {
            if operator && api_key.is_none() {
                return Err(not_configured(provider_id));
            }
            Arc::new(Gemini::new(client, base, api_key))
        }
        WireFormat::Bedrock => match key {
            Key::Operator => {
                let creds = cfg.aws.clone().ok_or_else(|| not_configured(provider_id))?;
                Arc::new(Bedrock::new(client, base, creds))
            }
            // SigV4 needs AWS credentials; workspace keys and keyless calls cannot sign.
            _ => {
                return Err(ProviderError::EndpointRefused(
                    "bedrock endpoints other than the operator's need an allowedEndpoints entry"
                        .into(),
                ));
            }
        },
    })
}
