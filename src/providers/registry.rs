//! The provider registry: builds adapters from the configuration, caches them per
//! (provider, endpoint, key) on one shared HTTP connection pool, and owns the breakers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::anthropic::Anthropic;
use super::bedrock::Bedrock;
use super::breaker::{CircuitBreakers, Clock, SystemClock};
use super::config::{InferenceConfig, WireFormat};
use super::error::ProviderError;
use super::gemini::Gemini;
use super::openai_compat::OpenAiCompat;
use super::types::Provider;

/// Connection attempts are bounded separately: a dead host should fail fast and be retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type CacheKey = (String, String, String);

/// Hands out provider clients.
pub struct ProviderRegistry {
    config: InferenceConfig,
    client: reqwest::Client,
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
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(config.timeout))
            // Bounds each read, so a stalled stream fails even without the resilient layer.
            .read_timeout(config.timeout)
            .build()
            .map_err(|e| ProviderError::InvalidConfig(format!("http client: {e}")))?;
        let breakers = Arc::new(CircuitBreakers::new(config.circuit_breaker, clock));
        Ok(Self {
            config,
            client,
            cache: Mutex::new(HashMap::new()),
            overrides: Mutex::new(HashMap::new()),
            breakers,
        })
    }

    /// The configuration the registry was built from.
    pub fn config(&self) -> &InferenceConfig {
        &self.config
    }

    /// The per-provider circuit breakers.
    pub fn breakers(&self) -> &Arc<CircuitBreakers> {
        &self.breakers
    }

    /// Serve `provider.id()` with this implementation instead of the configured adapter
    /// (in-process fakes for agent tests, custom backends).
    pub fn register(&self, provider: Arc<dyn Provider>) {
        let mut overrides = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        overrides.insert(provider.id().to_string(), provider);
    }

    /// The client for `provider_id`, at `endpoint_override` (an agent's `model.endpoint`)
    /// when given, else at the configured base URL.
    pub fn get(
        &self,
        provider_id: &str,
        endpoint_override: Option<&str>,
    ) -> Result<Arc<dyn Provider>, ProviderError> {
        let overrides = self.overrides.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = overrides.get(provider_id) {
            return Ok(p.clone());
        }
        drop(overrides);
        let not_configured = || ProviderError::NotConfigured {
            provider: provider_id.to_string(),
        };
        let cfg = self
            .config
            .provider(provider_id)
            .ok_or_else(not_configured)?;
        let base = endpoint_override
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .unwrap_or(&cfg.base_url)
            .to_string();
        let key = cfg
            .api_key
            .clone()
            .or_else(|| cfg.aws.as_ref().map(|a| a.access_key_id.clone()))
            .unwrap_or_default();
        let cache_key = (provider_id.to_string(), base.clone(), key);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(&cache_key) {
            return Ok(p.clone());
        }
        let client = self.client.clone();
        let provider: Arc<dyn Provider> = match cfg.wire {
            WireFormat::OpenAi => {
                // Hosted OpenAI-style APIs need a key; local servers (and explicit endpoints) may not.
                let keyless_ok = matches!(provider_id, "ollama" | "vllm")
                    || endpoint_override.is_some()
                    || !super::config::PROVIDER_IDS.contains(&provider_id);
                if cfg.api_key.is_none() && !keyless_ok {
                    return Err(not_configured());
                }
                Arc::new(OpenAiCompat::new(
                    provider_id,
                    client,
                    base,
                    cfg.api_key.clone(),
                ))
            }
            WireFormat::Anthropic => {
                let key = cfg.api_key.clone().ok_or_else(not_configured)?;
                Arc::new(Anthropic::new(client, base, key))
            }
            WireFormat::Gemini => {
                let key = cfg.api_key.clone().ok_or_else(not_configured)?;
                Arc::new(Gemini::new(client, base, key))
            }
            WireFormat::Bedrock => {
                let creds = cfg.aws.clone().ok_or_else(not_configured)?;
                Arc::new(Bedrock::new(client, base, creds))
            }
        };
        cache.insert(cache_key, provider.clone());
        Ok(provider)
    }
}
