//! Inference settings: the `inference:` section of astra.yml merged with the environment
//! (environment wins, as everywhere in Astra), with the real default base URLs. The
//! `providers` module re-exports them; they live here so the configuration imports no feature.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

pub use super::allowed_endpoint::AllowedEndpoint;

/// The `inference:` settings (or `allowedEndpoints`) are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid inference configuration: {0}")]
pub struct InferenceConfigError(pub String);

/// Built-in provider ids, in the order used to pick a default provider.
pub const PROVIDER_IDS: [&str; 10] = [
    "openai",
    "claude",
    "gemini",
    "grok",
    "groq",
    "mistral",
    "openrouter",
    "ollama",
    "vllm",
    "bedrock",
];

/// Which adapter speaks to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireFormat {
    /// OpenAI Chat Completions (also Groq, xAI, Mistral, OpenRouter, Ollama, vLLM).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
    /// Google Gemini `generateContent`.
    Gemini,
    /// AWS Bedrock Converse.
    Bedrock,
}

impl WireFormat {
    /// `openai`, `anthropic`, `gemini` or `bedrock`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Bedrock => "bedrock",
        }
    }
}

/// AWS credentials for Bedrock.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token for temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Resolved settings of one provider.
#[derive(Clone, PartialEq)]
pub struct ProviderConfig {
    /// Provider id.
    pub id: String,
    /// Adapter to use.
    pub wire: WireFormat,
    /// Base URL (adapters append their paths).
    pub base_url: String,
    /// API key, when the provider uses one.
    pub api_key: Option<String>,
    /// Bedrock credentials.
    pub aws: Option<AwsCredentials>,
    /// Whether credentials (or, for keyless local servers, a base URL) were supplied.
    pub configured: bool,
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("id", &self.id)
            .field("wire", &self.wire)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("aws", &self.aws)
            .field("configured", &self.configured)
            .finish()
    }
}

/// Circuit-breaker thresholds (`inference.circuitBreaker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Failures within `window` that open the circuit.
    pub failure_threshold: u32,
    /// Sliding window for counting failures.
    pub window: Duration,
    /// How long the circuit stays open before probing.
    pub open_for: Duration,
    /// Successes in half-open needed to close.
    pub half_open_successes: u32,
}

/// Retry policy (`inference.retries`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Base of the exponential backoff.
    pub base_delay: Duration,
    /// Cap on a single backoff (and on an honoured `Retry-After`).
    pub max_delay: Duration,
}

/// Everything the provider layer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceConfig {
    /// Every known provider (built-ins always present, plus custom ones from astra.yml).
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Breaker thresholds.
    pub circuit_breaker: BreakerConfig,
    /// Retry policy.
    pub retries: RetryConfig,
    /// Per-request timeout: to the first event, and between events.
    pub timeout: Duration,
    /// Base URLs besides the configured ones that may receive the operator's keys
    /// (`inference.allowedEndpoints`; matching rule in [`super::endpoint`]).
    pub allowed_endpoints: Vec<AllowedEndpoint>,
    /// Whether tenant endpoints may be private addresses (`ASTRA_ALLOW_PRIVATE_URLS`, set
    /// by the app from the one gateway-wide switch).
    pub allow_private_urls: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawInference {
    providers: BTreeMap<String, RawProvider>,
    circuit_breaker: RawBreaker,
    retries: RawRetries,
    timeout_ms: Option<u64>,
    allowed_endpoints: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawProvider {
    api_key: Option<String>,
    base_url: Option<String>,
    region: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawBreaker {
    failure_threshold: Option<u32>,
    window_seconds: Option<u64>,
    open_seconds: Option<u64>,
    half_open_successes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RawRetries {
    max_retries: Option<u32>,
    base_delay_ms: Option<u64>,
    max_delay_ms: Option<u64>,
}

/// Static facts about a built-in provider: wire format, default URL, env names.
struct Builtin {
    wire: WireFormat,
    base_url: &'static str,
    key_env: &'static [&'static str],
    base_env: Option<&'static str>,
}

fn builtin(id: &str) -> Option<Builtin> {
    use WireFormat::*;
    let (wire, base_url, key_env, base_env): (_, _, &'static [&'static str], _) = match id {
        "openai" => (
            OpenAi,
            "https://api.openai.com/v1",
            &["OPENAI_API_KEY"],
            Some("OPENAI_BASE_URL"),
        ),
        "claude" => (
            Anthropic,
            "https://api.anthropic.com",
            &["ANTHROPIC_API_KEY"],
            Some("ANTHROPIC_BASE_URL"),
        ),
        "gemini" => (
            Gemini,
            "https://generativelanguage.googleapis.com",
            &["GEMINI_API_KEY"],
            Some("GEMINI_BASE_URL"),
        ),
        "grok" => (
            OpenAi,
            "https://api.x.ai/v1",
            &["XAI_API_KEY", "GROK_API_KEY"],
            None,
        ),
        "groq" => (
            OpenAi,
            "https://api.groq.com/openai/v1",
            &["GROQ_API_KEY"],
            None,
        ),
        "mistral" => (
            OpenAi,
            "https://api.mistral.ai/v1",
            &["MISTRAL_API_KEY"],
            None,
        ),
        "openrouter" => (
            OpenAi,
            "https://openrouter.ai/api/v1",
            &["OPENROUTER_API_KEY"],
            None,
        ),
        "ollama" => (
            OpenAi,
            "http://localhost:11434/v1",
            &[],
            Some("OLLAMA_BASE_URL"),
        ),
        "vllm" => (
            OpenAi,
            "http://localhost:8000/v1",
            &[],
            Some("VLLM_BASE_URL"),
        ),
        "bedrock" => (Bedrock, "", &[], Some("BEDROCK_BASE_URL")),
        _ => return None,
    };
    Some(Builtin {
        wire,
        base_url,
        key_env,
        base_env,
    })
}

/// `${ENV}` interpolation of an unset variable yields "", which must mean "absent".
fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl InferenceConfig {
    /// Build from the `inference:` value (absent → defaults) and an environment lookup.
    pub fn from_sources(
        inference: Option<&Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, InferenceConfigError> {
        let raw: RawInference = match inference {
            None | Some(Value::Null) => RawInference::default(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| InferenceConfigError(e.to_string()))?,
        };
        let env = |name: &str| non_empty(env(name));
        let mut yaml = raw.providers;
        let mut providers = BTreeMap::new();
        for id in PROVIDER_IDS {
            let from_yaml = yaml.remove(id).unwrap_or_default();
            providers.insert(id.to_string(), resolve_builtin(id, from_yaml, &env)?);
        }
        // Remaining ids are custom OpenAI-compatible endpoints declared in astra.yml.
        for (id, p) in yaml {
            let base_url = non_empty(p.base_url).ok_or_else(|| {
                InferenceConfigError(format!("provider {id} is unknown and has no baseUrl"))
            })?;
            providers.insert(
                id.clone(),
                ProviderConfig {
                    id,
                    wire: WireFormat::OpenAi,
                    base_url,
                    api_key: non_empty(p.api_key),
                    aws: None,
                    configured: true,
                },
            );
        }
        let allowed_endpoints = raw
            .allowed_endpoints
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| AllowedEndpoint::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let b = raw.circuit_breaker;
        let r = raw.retries;
        Ok(Self {
            allowed_endpoints,
            allow_private_urls: false,
            providers,
            circuit_breaker: BreakerConfig {
                failure_threshold: b.failure_threshold.unwrap_or(5).max(1),
                window: Duration::from_secs(b.window_seconds.unwrap_or(60)),
                open_for: Duration::from_secs(b.open_seconds.unwrap_or(60)),
                half_open_successes: b.half_open_successes.unwrap_or(2).max(1),
            },
            retries: RetryConfig {
                max_retries: r.max_retries.unwrap_or(2),
                base_delay: Duration::from_millis(r.base_delay_ms.unwrap_or(200)),
                max_delay: Duration::from_millis(r.max_delay_ms.unwrap_or(10_000)),
            },
            timeout: Duration::from_millis(raw.timeout_ms.unwrap_or(60_000).max(1)),
        })
    }

    /// Settings of one provider, if the id is known.
    pub fn provider(&self, id: &str) -> Option<&ProviderConfig> {
        self.providers.get(id)
    }

    /// Ids of providers with credentials, built-ins first in [`PROVIDER_IDS`] order, then
    /// custom ones; the first is the natural default provider.
    pub fn configured_providers(&self) -> Vec<&str> {
        let builtins = PROVIDER_IDS.iter().copied();
        let custom = self
            .providers
            .keys()
            .map(String::as_str)
            .filter(|id| !PROVIDER_IDS.contains(id));
        builtins
            .chain(custom)
            .filter(|id| self.providers.get(*id).is_some_and(|p| p.configured))
            .collect()
    }
}

fn resolve_builtin(
    id: &str,
    yaml: RawProvider,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, InferenceConfigError> {
    let b = builtin(id)
        .ok_or_else(|| InferenceConfigError(format!("provider {id} is not configured")))?;
    let env_base = b.base_env.and_then(env);
    let explicit_base = env_base.or_else(|| non_empty(yaml.base_url));
    if b.wire == WireFormat::Bedrock {
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| non_empty(yaml.region))
            .unwrap_or_else(|| "us-east-1".to_string());
        let key_id = env("AWS_ACCESS_KEY_ID").or_else(|| non_empty(yaml.access_key_id));
        let secret = env("AWS_SECRET_ACCESS_KEY").or_else(|| non_empty(yaml.secret_access_key));
        let token = env("AWS_SESSION_TOKEN").or_else(|| non_empty(yaml.session_token));
        let aws = match (key_id, secret) {
            (Some(access_key_id), Some(secret_access_key)) => Some(AwsCredentials {
                region: region.clone(),
                access_key_id,
                secret_access_key,
                session_token: token,
            }),
            _ => None,
        };
        let base_url = explicit_base
            .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com"));
        return Ok(ProviderConfig {
            id: id.into(),
            wire: b.wire,
            base_url,
            api_key: None,
            configured: aws.is_some(),
            aws,
        });
    }
    let api_key = b
        .key_env
        .iter()
        .find_map(|k| env(k))
        .or_else(|| non_empty(yaml.api_key));
    let keyless = b.key_env.is_empty();
    let configured = if keyless {
        explicit_base.is_some()
    } else {
        api_key.is_some()
    };
    let mut base_url = explicit_base.unwrap_or_else(|| b.base_url.to_string());
    // OLLAMA_BASE_URL conventionally names the server root; its OpenAI API lives under /v1.
    if id == "ollama" && !base_url.trim_end_matches('/').ends_with("/v1") {
        base_url = format!("{}/v1", base_url.trim_end_matches('/'));
    }
    Ok(ProviderConfig {
        id: id.into(),
        wire: b.wire,
        base_url,
        api_key,
        aws: None,
        configured,
    })
}

impl Default for InferenceConfig {
    /// Built-in providers with no credentials from the environment, default resilience knobs.
    fn default() -> Self {
        // Without yml or env input nothing can be invalid; the fallback only keeps this total.
        Self::from_sources(None, &|_| None).unwrap_or_else(|_| Self {
            providers: BTreeMap::new(),
            circuit_breaker: BreakerConfig {
                failure_threshold: 5,
                window: Duration::from_secs(60),
                open_for: Duration::from_secs(60),
                half_open_successes: 2,
            },
            retries: RetryConfig {
                max_retries: 2,
                base_delay: Duration::from_millis(200),
                max_delay: Duration::from_millis(10_000),
            },
            timeout: Duration::from_secs(60),
            allowed_endpoints: Vec::new(),
            allow_private_urls: false,
        })
    }
}
