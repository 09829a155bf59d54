//! Token prices (USD per million tokens) and the usage → cost function.
//!
//! Built-in prices are list prices at the time of writing; `pricing:` in astra.yml overrides
//! or extends them. Local servers (Ollama, vLLM) are free.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde::Deserialize;
use serde_json::Value;

use super::error::ProviderError;
use super::types::Usage;

/// Price of one model, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Cached input tokens; `None` bills them as normal input.
    pub cached_input: Option<f64>,
}

/// (provider, model id or prefix, input, output, cached input, context window in tokens).
type Row = (&'static str, &'static str, f64, f64, Option<f64>, u32);

/// Built-in rows; context windows are the vendors' published input limits.
const BUILTIN: &[Row] = &[
    // OpenAI
    ("openai", "gpt-4o", 2.50, 10.00, Some(1.25), 128_000),
    ("openai", "gpt-4o-mini", 0.15, 0.60, Some(0.075), 128_000),
    ("openai", "gpt-4.1", 2.00, 8.00, Some(0.50), 1_047_576),
    ("openai", "gpt-4.1-mini", 0.40, 1.60, Some(0.10), 1_047_576),
    ("openai", "gpt-4.1-nano", 0.10, 0.40, Some(0.025), 1_047_576),
    ("openai", "gpt-5", 1.25, 10.00, Some(0.125), 400_000),
    ("openai", "gpt-5-mini", 0.25, 2.00, Some(0.025), 400_000),
    ("openai", "gpt-5-nano", 0.05, 0.40, Some(0.005), 400_000),
    ("openai", "o1", 15.00, 60.00, Some(7.50), 200_000),
    ("openai", "o1-mini", 1.10, 4.40, Some(0.55), 128_000),
    ("openai", "o3", 2.00, 8.00, Some(0.50), 200_000),
    ("openai", "o3-pro", 20.00, 80.00, None, 200_000),
    ("openai", "o3-mini", 1.10, 4.40, Some(0.55), 200_000),
    ("openai", "o4-mini", 1.10, 4.40, Some(0.275), 200_000),
    ("openai", "gpt-4-turbo", 10.00, 30.00, None, 128_000),
    ("openai", "gpt-3.5-turbo", 0.50, 1.50, None, 16_385),
    ("openai", "text-embedding-3-small", 0.02, 0.0, None, 8_191),
    ("openai", "text-embedding-3-large", 0.13, 0.0, None, 8_191),
    // Anthropic (cached = cache read price)
    (
        "claude",
        "claude-3-5-sonnet",
        3.00,
        15.00,
        Some(0.30),
        200_000,
    ),
    (
        "claude",
        "claude-3-7-sonnet",
        3.00,
        15.00,
        Some(0.30),
        200_000,
    ),
    (
        "claude",
        "claude-sonnet-4",
        3.00,
        15.00,
        Some(0.30),
        200_000,
    ),
    (
        "claude",
        "claude-sonnet-4-5",
        3.00,
        15.00,
        Some(0.30),
        200_000,
    ),
    ("claude", "claude-3-haiku", 0.25, 1.25, Some(0.03), 200_000),
    (
        "claude",
        "claude-3-5-haiku",
        0.80,
        4.00,
        Some(0.08),
        200_000,
    ),
    (
        "claude",
        "claude-haiku-4-5",
        1.00,
        5.00,
        Some(0.10),
        200_000,
    ),
    ("claude", "claude-3-opus", 15.00, 75.00, Some(1.50), 200_000),
    ("claude", "claude-opus-4", 15.00, 75.00, Some(1.50), 200_000),
    (
        "claude",
        "claude-opus-4-1",
        15.00,
        75.00,
        Some(1.50),
        200_000,
    ),
    (
        "claude",
        "claude-opus-4-5",
        5.00,
        25.00,
        Some(0.50),
        200_000,
    ),
    // Google
    (
        "gemini",
        "gemini-1.5-flash",
        0.075,
        0.30,
        Some(0.01875),
        1_048_576,
    ),
    (
        "gemini",
        "gemini-1.5-pro",
        1.25,
        5.00,
        Some(0.3125),
        2_097_152,
    ),
    (
        "gemini",
        "gemini-2.0-flash",
        0.10,
        0.40,
        Some(0.025),
        1_048_576,
    ),
    (
        "gemini",
        "gemini-2.0-flash-lite",
        0.075,
        0.30,
        None,
        1_048_576,
    ),
    (
        "gemini",
        "gemini-2.5-flash",
        0.30,
        2.50,
        Some(0.075),
        1_048_576,
    ),
    (
        "gemini",
        "gemini-2.5-flash-lite",
        0.10,
        0.40,
        Some(0.025),
        1_048_576,
    ),
    (
        "gemini",
        "gemini-2.5-pro",
        1.25,
        10.00,
        Some(0.31),
        1_048_576,
    ),
    ("gemini", "text-embedding-004", 0.0, 0.0, None, 2_048),
    // xAI
    ("grok", "grok-2", 2.00, 10.00, None, 131_072),
    ("grok", "grok-3", 3.00, 15.00, Some(0.75), 131_072),
    ("grok", "grok-3-mini", 0.30, 0.50, Some(0.075), 131_072),
    ("grok", "grok-4", 3.00, 15.00, Some(0.75), 256_000),
    // Groq
    ("groq", "llama-3.3-70b-versatile", 0.59, 0.79, None, 131_072),
    ("groq", "llama-3.1-8b-instant", 0.05, 0.08, None, 131_072),
    ("groq", "llama3-70b-8192", 0.59, 0.79, None, 8_192),
    ("groq", "llama3-8b-8192", 0.05, 0.08, None, 8_192),
    ("groq", "gemma2-9b-it", 0.20, 0.20, None, 8_192),
    ("groq", "mixtral-8x7b-32768", 0.24, 0.24, None, 32_768),
    // Mistral
    ("mistral", "mistral-large", 2.00, 6.00, None, 131_072),
    ("mistral", "mistral-medium", 0.40, 2.00, None, 131_072),
    ("mistral", "mistral-small", 0.10, 0.30, None, 32_768),
    ("mistral", "codestral", 0.30, 0.90, None, 262_144),
    ("mistral", "open-mistral-nemo", 0.15, 0.15, None, 131_072),
    ("mistral", "mistral-embed", 0.10, 0.0, None, 8_192),
];

/// Providers that run on the operator's own hardware.
const FREE_PROVIDERS: &[&str] = &["ollama", "vllm"];

/// A model the price table knows, as listed for its provider.
#[derive(Debug, Clone, PartialEq)]
pub struct KnownModel {
    /// Model id (or id prefix: dated ids of the same model share its price).
    pub id: String,
    /// Its price.
    pub price: Price,
    /// Context window in tokens, when known.
    pub context_window: Option<u32>,
}

/// A `pricing:` entry of astra.yml: a price and, optionally, the model's context window.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(flatten)]
    price: Price,
    context_window: Option<u32>,
}

/// The price table.
#[derive(Debug)]
pub struct Pricing {
    prices: HashMap<String, Price>,
    /// Built-in model id → the provider that serves it.
    vendors: HashMap<String, &'static str>,
    /// Model id (or `provider/model`) → context window.
    windows: HashMap<String, u32>,
    warned: Mutex<HashSet<String>>,
}

impl Pricing {
    /// Built-in prices overlaid with the `pricing:` value of astra.yml
    /// (`{"<provider>/<model>" | "<model>": {input, output, cachedInput?, contextWindow?}}`).
    pub fn new(overrides: Option<&Value>) -> Result<Self, ProviderError> {
        let mut prices = HashMap::new();
        let mut vendors = HashMap::new();
        let mut windows = HashMap::new();
        for (provider, model, input, output, cached, window) in BUILTIN {
            let price = Price {
                input: *input,
                output: *output,
                cached_input: *cached,
            };
            prices.insert(model.to_string(), price);
            vendors.insert(model.to_string(), *provider);
            windows.insert(model.to_string(), *window);
        }
        if let Some(v) = overrides.filter(|v| !v.is_null()) {
            let extra: HashMap<String, RawEntry> = serde_json::from_value(v.clone())
                .map_err(|e| ProviderError::InvalidConfig(format!("pricing: {e}")))?;
            for (key, entry) in extra {
                if let Some(window) = entry.context_window {
                    windows.insert(key.clone(), window);
                }
                prices.insert(key, entry.price);
            }
        }
        Ok(Self {
            prices,
            vendors,
            windows,
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// The models the table knows for `provider`, by id: built-in models of that vendor and
    /// `pricing:` entries keyed `provider/model` (a bare `model` entry names no provider, so
    /// it only shows when it reprices a built-in model).
    pub fn models(&self, provider: &str) -> Vec<KnownModel> {
        let mut out: std::collections::BTreeMap<&str, KnownModel> = Default::default();
        for (model, vendor) in &self.vendors {
            if *vendor == provider
                && let Some(price) = self.prices.get(model)
            {
                let known = KnownModel {
                    id: model.clone(),
                    price: *price,
                    context_window: self.windows.get(model).copied(),
                };
                out.insert(model, known);
            }
        }
        for (key, price) in &self.prices {
            let Some(model) = key.strip_prefix(provider).and_then(|k| k.strip_prefix('/')) else {
                continue;
            };
            let context_window = self
                .windows
                .get(key)
                .or_else(|| self.windows.get(model))
                .copied();
            let known = KnownModel {
                id: model.to_string(),
                price: *price,
                context_window,
            };
            out.insert(model, known);
        }
        out.into_values().collect()
    }

    /// The chat models priced for `provider` (what [`Self::models`] lists, embedding models
    /// left out): the raw models `/v1` may offer when `openai.passthroughModels` is on.
    pub fn models_of(&self, provider: &str) -> Vec<String> {
        self.models(provider)
            .into_iter()
            .filter(|m| !m.id.contains("embed"))
            .map(|m| m.id)
            .collect()
    }

    /// The price of `model` at `provider`: an exact `provider/model` or `model` entry, else
    /// the longest table key that prefixes the bare model id (dated ids such as
    /// `gpt-4o-2024-08-06`, vendor-prefixed ones such as `openai/gpt-4o` or Bedrock's
    /// `anthropic.claude-…`).
    pub fn price(&self, provider: &str, model: &str) -> Option<Price> {
        if let Some(p) = self
            .prices
            .get(&format!("{provider}/{model}"))
            .or_else(|| self.prices.get(model))
        {
            return Some(*p);
        }
        let bare = model.rsplit('/').next().unwrap_or(model);
        let bare = bare.split_once("anthropic.").map_or(bare, |(_, rest)| rest);
        self.prices
            .iter()
            .filter(|(k, _)| !k.contains('/') && bare.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, p)| *p)
    }

    /// USD cost of `usage`; unknown models cost 0 and are warned about once each.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> f64 {
        let Some(price) = self.price(provider, model) else {
            if !FREE_PROVIDERS.contains(&provider) {
                let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
                if warned.insert(format!("{provider}/{model}")) {
                    tracing::warn!(
                        provider,
                        model,
                        "no price for model; its usage is costed at 0"
                    );
                }
            }
            return 0.0;
        };
        let cached = usage.cached_prompt_tokens.min(usage.prompt_tokens);
        let uncached = usage.prompt_tokens - cached;
        let cached_rate = price.cached_input.unwrap_or(price.input);
        (uncached as f64 * price.input
            + cached as f64 * cached_rate
            + usage.completion_tokens as f64 * price.output)
            / 1_000_000.0
    }

    /// How many distinct unknown models have been warned about (for tests and diagnostics).
    pub fn warned_count(&self) -> usize {
        self.warned.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}
