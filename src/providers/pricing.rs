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

/// (model id or prefix, input, output, cached input).
type Row = (&'static str, f64, f64, Option<f64>);

/// Built-in prices by the provider id that serves the models (the same ids may also be served
/// elsewhere, e.g. through OpenRouter or Bedrock, and are priced alike there).
const BUILTIN: &[(&str, &[Row])] = &[
    // OpenAI
    (
        "openai",
        &[
            ("gpt-4o", 2.50, 10.00, Some(1.25)),
            ("gpt-4o-mini", 0.15, 0.60, Some(0.075)),
            ("gpt-4.1", 2.00, 8.00, Some(0.50)),
            ("gpt-4.1-mini", 0.40, 1.60, Some(0.10)),
            ("gpt-4.1-nano", 0.10, 0.40, Some(0.025)),
            ("gpt-5", 1.25, 10.00, Some(0.125)),
            ("gpt-5-mini", 0.25, 2.00, Some(0.025)),
            ("gpt-5-nano", 0.05, 0.40, Some(0.005)),
            ("o1", 15.00, 60.00, Some(7.50)),
            ("o1-mini", 1.10, 4.40, Some(0.55)),
            ("o3", 2.00, 8.00, Some(0.50)),
            ("o3-pro", 20.00, 80.00, None),
            ("o3-mini", 1.10, 4.40, Some(0.55)),
            ("o4-mini", 1.10, 4.40, Some(0.275)),
            ("gpt-4-turbo", 10.00, 30.00, None),
            ("gpt-3.5-turbo", 0.50, 1.50, None),
            ("text-embedding-3-small", 0.02, 0.0, None),
            ("text-embedding-3-large", 0.13, 0.0, None),
        ],
    ),
    // Anthropic (cached = cache read price)
    (
        "claude",
        &[
            ("claude-3-5-sonnet", 3.00, 15.00, Some(0.30)),
            ("claude-3-7-sonnet", 3.00, 15.00, Some(0.30)),
            ("claude-sonnet-4", 3.00, 15.00, Some(0.30)),
            ("claude-sonnet-4-5", 3.00, 15.00, Some(0.30)),
            ("claude-3-haiku", 0.25, 1.25, Some(0.03)),
            ("claude-3-5-haiku", 0.80, 4.00, Some(0.08)),
            ("claude-haiku-4-5", 1.00, 5.00, Some(0.10)),
            ("claude-3-opus", 15.00, 75.00, Some(1.50)),
            ("claude-opus-4", 15.00, 75.00, Some(1.50)),
            ("claude-opus-4-1", 15.00, 75.00, Some(1.50)),
            ("claude-opus-4-5", 5.00, 25.00, Some(0.50)),
        ],
    ),
    // Google
    (
        "gemini",
        &[
            ("gemini-1.5-flash", 0.075, 0.30, Some(0.01875)),
            ("gemini-1.5-pro", 1.25, 5.00, Some(0.3125)),
            ("gemini-2.0-flash", 0.10, 0.40, Some(0.025)),
            ("gemini-2.0-flash-lite", 0.075, 0.30, None),
            ("gemini-2.5-flash", 0.30, 2.50, Some(0.075)),
            ("gemini-2.5-flash-lite", 0.10, 0.40, Some(0.025)),
            ("gemini-2.5-pro", 1.25, 10.00, Some(0.31)),
            ("text-embedding-004", 0.0, 0.0, None),
        ],
    ),
    // xAI
    (
        "grok",
        &[
            ("grok-2", 2.00, 10.00, None),
            ("grok-3", 3.00, 15.00, Some(0.75)),
            ("grok-3-mini", 0.30, 0.50, Some(0.075)),
            ("grok-4", 3.00, 15.00, Some(0.75)),
        ],
    ),
    // Groq
    (
        "groq",
        &[
            ("llama-3.3-70b-versatile", 0.59, 0.79, None),
            ("llama-3.1-8b-instant", 0.05, 0.08, None),
            ("llama3-70b-8192", 0.59, 0.79, None),
            ("llama3-8b-8192", 0.05, 0.08, None),
            ("gemma2-9b-it", 0.20, 0.20, None),
            ("mixtral-8x7b-32768", 0.24, 0.24, None),
        ],
    ),
    // Mistral
    (
        "mistral",
        &[
            ("mistral-large", 2.00, 6.00, None),
            ("mistral-medium", 0.40, 2.00, None),
            ("mistral-small", 0.10, 0.30, None),
            ("codestral", 0.30, 0.90, None),
            ("open-mistral-nemo", 0.15, 0.15, None),
            ("mistral-embed", 0.10, 0.0, None),
        ],
    ),
];

/// Providers that run on the operator's own hardware.
const FREE_PROVIDERS: &[&str] = &["ollama", "vllm"];

/// The price table.
#[derive(Debug)]
pub struct Pricing {
    prices: HashMap<String, Price>,
    /// (provider, model) of every chat model with a price for a known provider: the
    /// built-in rows and the `<provider>/<model>` overrides, in table order.
    catalogue: Vec<(String, String)>,
    warned: Mutex<HashSet<String>>,
}

impl Pricing {
    /// Built-in prices overlaid with the `pricing:` value of astra.yml
    /// (`{"<provider>/<model>" | "<model>": {input, output, cachedInput?}}`).
    pub fn new(overrides: Option<&Value>) -> Result<Self, ProviderError> {
        let mut prices: HashMap<String, Price> = HashMap::new();
        let mut catalogue: Vec<(String, String)> = Vec::new();
        for (provider, rows) in BUILTIN {
            for (model, input, output, cached) in rows.iter() {
                let price = Price {
                    input: *input,
                    output: *output,
                    cached_input: *cached,
                };
                prices.insert(model.to_string(), price);
                catalogue.push((provider.to_string(), model.to_string()));
            }
        }
        if let Some(v) = overrides.filter(|v| !v.is_null()) {
            let extra: HashMap<String, Price> = serde_json::from_value(v.clone())
                .map_err(|e| ProviderError::InvalidConfig(format!("pricing: {e}")))?;
            let mut named: Vec<(String, String)> = extra
                .keys()
                .filter_map(|k| k.split_once('/'))
                .map(|(p, m)| (p.to_string(), m.to_string()))
                .filter(|pm| !catalogue.contains(pm))
                .collect();
            named.sort();
            catalogue.extend(named);
            prices.extend(extra);
        }
        catalogue.retain(|(_, model)| !model.contains("embed"));
        Ok(Self {
            prices,
            catalogue,
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// The chat models priced for `provider`: its built-in rows and the `<provider>/<model>`
    /// entries of `pricing:` (embedding models left out).
    pub fn models_of<'a>(&'a self, provider: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.catalogue
            .iter()
            .filter(move |(p, _)| p == provider)
            .map(|(_, m)| m.as_str())
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
