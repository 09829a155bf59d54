//! Provider registries for the provider tests: inference configs with fast retries over a
//! fixed environment, pointed at the shared [`crate::helpers::FakeLlm`].

use std::sync::Arc;

use astra::providers::{
    ChatRequest, InferenceConfig, ManualClock, Message, ProviderRegistry, Role,
};
use serde_json::Value;

/// An environment lookup over fixed pairs.
pub fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Inference config with fast retries; `inference` is merged over the test defaults.
pub fn config(inference: Value, env_pairs: &[(&str, &str)]) -> InferenceConfig {
    let mut base = serde_json::json!({
        "retries": {"maxRetries": 2, "baseDelayMs": 2},
        "timeoutMs": 2000,
    });
    merge(&mut base, inference);
    InferenceConfig::from_sources(Some(&base), &env(env_pairs)).unwrap()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

pub fn registry(inference: Value, env_pairs: &[(&str, &str)]) -> ProviderRegistry {
    ProviderRegistry::new(config(inference, env_pairs)).unwrap()
}

pub fn registry_with_clock(inference: Value, clock: Arc<ManualClock>) -> ProviderRegistry {
    ProviderRegistry::with_clock(config(inference, &[]), clock).unwrap()
}

/// A one-message request.
pub fn ask(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![Message::text(Role::User, text)],
        ..Default::default()
    }
}
