//! Configuration merge and the registry's client cache.

use std::sync::Arc;
use std::time::Duration;

use astra::providers::{InferenceConfig, InferenceConfigError, ProviderError, WireFormat};
use serde_json::json;

use super::support::{env, registry};

#[test]
fn defaults_yaml_and_environment_merge() {
    let yaml = json!({
        "providers": {
            "openai": {"apiKey": "from-yaml", "baseUrl": "https://proxy.example/v1"},
            "claude": {"apiKey": ""},
            "together": {"apiKey": "t", "baseUrl": "https://api.together.xyz/v1"},
        },
        "circuitBreaker": {"failureThreshold": 7, "windowSeconds": 30, "openSeconds": 10, "halfOpenSuccesses": 3},
        "retries": {"maxRetries": 4, "baseDelayMs": 50},
        "timeoutMs": 1234,
    });
    let lookup = env(&[
        ("OPENAI_API_KEY", "from-env"),
        ("GROK_API_KEY", "xai"),
        ("OLLAMA_BASE_URL", "http://gpu-box:11434"),
        ("GEMINI_API_KEY", "g"),
    ]);
    let cfg = InferenceConfig::from_sources(Some(&yaml), &lookup).unwrap();
    let openai = cfg.provider("openai").unwrap();
    assert_eq!(
        openai.api_key.as_deref(),
        Some("from-env"),
        "environment wins"
    );
    assert_eq!(openai.base_url, "https://proxy.example/v1");
    assert_eq!(
        cfg.provider("groq").unwrap().base_url,
        "https://api.groq.com/openai/v1"
    );
    assert_eq!(
        cfg.provider("grok").unwrap().api_key.as_deref(),
        Some("xai")
    );
    assert_eq!(
        cfg.provider("ollama").unwrap().base_url,
        "http://gpu-box:11434/v1"
    );
    assert_eq!(
        cfg.provider("claude").unwrap().base_url,
        "https://api.anthropic.com"
    );
    assert_eq!(cfg.provider("claude").unwrap().wire, WireFormat::Anthropic);
    assert_eq!(cfg.provider("together").unwrap().wire, WireFormat::OpenAi);
    assert_eq!(
        cfg.configured_providers(),
        vec!["openai", "gemini", "grok", "ollama", "together"]
    );
    assert_eq!(cfg.circuit_breaker.failure_threshold, 7);
    assert_eq!(cfg.circuit_breaker.window, Duration::from_secs(30));
    assert_eq!(cfg.circuit_breaker.open_for, Duration::from_secs(10));
    assert_eq!(cfg.circuit_breaker.half_open_successes, 3);
    assert_eq!(cfg.retries.max_retries, 4);
    assert_eq!(cfg.retries.base_delay, Duration::from_millis(50));
    assert_eq!(cfg.timeout, Duration::from_millis(1234));
    assert!(
        !format!("{openai:?}").contains("from-env"),
        "keys are redacted in Debug"
    );

    let defaults = InferenceConfig::from_sources(
        None,
        &env(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "s")]),
    )
    .unwrap();
    assert_eq!(defaults.circuit_breaker.failure_threshold, 5);
    assert_eq!(defaults.circuit_breaker.half_open_successes, 2);
    assert_eq!(defaults.retries.max_retries, 2);
    assert_eq!(defaults.timeout, Duration::from_secs(60));
    assert_eq!(defaults.configured_providers(), vec!["bedrock"]);
    assert_eq!(
        defaults.provider("bedrock").unwrap().base_url,
        "https://bedrock-runtime.us-east-1.amazonaws.com"
    );
    assert!(!format!("{:?}", defaults.provider("bedrock")).contains("\"s\""));

    let bad = InferenceConfig::from_sources(
        Some(&json!({"providers": {"mystery": {"apiKey": "k"}}})),
        &env(&[]),
    );
    assert!(matches!(bad, Err(InferenceConfigError(_))));
}

#[test]
fn registry_caches_clients_per_provider_endpoint_and_key() {
    let reg = registry(json!({}), &[("OPENAI_API_KEY", "k")]);
    let a = reg.get("openai", None).unwrap();
    let b = reg.get("openai", None).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    let c = reg
        .get("openai", Some("https://models.example.com/v1"))
        .unwrap();
    assert!(!Arc::ptr_eq(&a, &c));
    assert!(Arc::ptr_eq(
        &c,
        &reg.get("openai", Some("https://models.example.com/v1/"))
            .unwrap()
    ));
    // A tenant endpoint goes through the outbound guard: internal literals are refused.
    assert!(matches!(
        reg.get("openai", Some("http://127.0.0.1:9/v1")),
        Err(ProviderError::EndpointRefused(_))
    ));
    assert_eq!(a.id(), "openai");
    assert_eq!(
        reg.get("claude", None).err(),
        Some(ProviderError::NotConfigured {
            provider: "claude".into()
        })
    );
    assert!(matches!(
        reg.get("nope", None),
        Err(ProviderError::NotConfigured { .. })
    ));
    assert!(reg.get("ollama", None).is_ok(), "local servers need no key");
}
