//! `GET /providers`: the shape, what it must never show, auth, and breaker state.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::support::config;
use crate::helpers::{Answer, FakeLlm, chat_app_with, spawn_app_with, unique_email};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ModelOut {
    id: String,
    input_per_million: f64,
    output_per_million: f64,
    cached_input_per_million: Option<f64>,
    context_window: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BreakerOut {
    state: String,
    failures: u32,
    opened_at: Option<DateTime<Utc>>,
    retry_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProviderOut {
    id: String,
    wire_format: String,
    configured: bool,
    has_key: bool,
    is_default: bool,
    base_url: Option<String>,
    models: Vec<ModelOut>,
    breaker: BreakerOut,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProvidersOut {
    providers: Vec<ProviderOut>,
    default_provider: String,
    default_model: String,
}

fn find<'a>(list: &'a ProvidersOut, id: &str) -> &'a ProviderOut {
    list.providers.iter().find(|p| p.id == id).unwrap()
}

#[tokio::test]
async fn lists_every_provider_with_priced_models_and_never_a_secret() {
    let inference = json!({"providers": {
        "openai": {"apiKey": "sk-operator-secret", "baseUrl": "http://127.0.0.1:9/v1"},
        "corp": {"apiKey": "corp-secret", "baseUrl": "https://svc:hunter2@llm.corp/v1"},
    }});
    let app = spawn_app_with(|c| {
        c.inference = config(inference, &[]);
        c.default_provider = "openai".into();
        c.default_model = "gpt-4o-mini".into();
        c.file.pricing = json!({"corp/corp-large": {"input": 1, "output": 2, "contextWindow": 32000},
                                "gpt-4o": {"input": 2.0, "output": 8.0}});
    })
    .await;
    let anon = app
        .send(reqwest::Method::GET, "/providers", None, &[])
        .await;
    assert_eq!(anon.status, 401);
    assert_eq!(app.get("/providers", "not-a-token").await.status, 401);

    let (token, _, _) = app.register(&unique_email("providers")).await;
    let r = app.get("/providers", &token).await.expect(200);
    for secret in ["sk-operator-secret", "corp-secret", "hunter2"] {
        assert!(!r.text.contains(secret), "{secret} leaked: {}", r.text);
    }
    let list: ProvidersOut = r.json();
    assert_eq!(
        (list.default_provider.as_str(), list.default_model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    let ids: Vec<&str> = list.providers.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
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
            "corp"
        ]
    );

    let openai = find(&list, "openai");
    assert_eq!(openai.wire_format, "openai");
    assert!(openai.configured && openai.has_key && openai.is_default);
    assert_eq!(openai.base_url.as_deref(), Some("http://127.0.0.1:9/v1"));
    let gpt4o = openai.models.iter().find(|m| m.id == "gpt-4o").unwrap();
    assert_eq!(
        (gpt4o.input_per_million, gpt4o.output_per_million),
        (2.0, 8.0),
        "the override wins"
    );
    assert_eq!(gpt4o.context_window, Some(128_000));
    let mini = openai
        .models
        .iter()
        .find(|m| m.id == "gpt-4o-mini")
        .unwrap();
    assert_eq!(mini.cached_input_per_million, Some(0.075));
    assert!(
        openai.models.windows(2).all(|w| w[0].id < w[1].id),
        "sorted by id"
    );
    assert!(!openai.models.iter().any(|m| m.id.starts_with("claude")));
    assert_eq!(openai.breaker.state, "closed");
    assert_eq!(openai.breaker.failures, 0);
    assert!(openai.breaker.opened_at.is_none() && openai.breaker.retry_at.is_none());

    let claude = find(&list, "claude");
    assert_eq!(claude.wire_format, "anthropic");
    assert!(!claude.configured && !claude.has_key && !claude.is_default);
    assert_eq!(
        claude.base_url.as_deref(),
        Some("https://api.anthropic.com")
    );
    assert!(
        claude
            .models
            .iter()
            .any(|m| m.id == "claude-sonnet-4-5" && m.context_window == Some(200_000))
    );
    assert_eq!(find(&list, "gemini").wire_format, "gemini");
    let bedrock = find(&list, "bedrock");
    assert_eq!(bedrock.wire_format, "bedrock");
    assert!(!bedrock.configured && !bedrock.has_key);

    let corp = find(&list, "corp");
    assert_eq!(corp.wire_format, "openai");
    assert!(corp.configured && corp.has_key);
    assert_eq!(corp.base_url, None, "a base URL with user info is withheld");
    assert_eq!(corp.models.len(), 1);
    let large = &corp.models[0];
    assert_eq!(large.id, "corp-large");
    assert_eq!(
        (large.input_per_million, large.output_per_million),
        (1.0, 2.0)
    );
    assert_eq!(large.context_window, Some(32_000));
    assert_eq!(large.cached_input_per_million, None);
}

#[tokio::test]
async fn the_breaker_state_follows_failures() {
    let fake = FakeLlm::start(|_, _| Answer::error(503)).await;
    let c = chat_app_with(&fake, |c| {
        let breaker = json!({"failureThreshold": 3, "windowSeconds": 60, "openSeconds": 90});
        let inference = json!({"providers": {"openai": {"apiKey": "k", "baseUrl": fake.base_url}},
                               "retries": {"maxRetries": 1, "baseDelayMs": 2},
                               "circuitBreaker": breaker});
        c.inference = config(inference, &[]);
    })
    .await;
    c.chat(json!({"message": "hi"}))
        .await
        .expect_error(502, "PROVIDER_ERROR");
    let list: ProvidersOut = c.app.get("/providers", &c.token).await.expect(200).json();
    let breaker = &find(&list, "openai").breaker;
    assert_eq!((breaker.state.as_str(), breaker.failures), ("closed", 2));
    assert!(breaker.opened_at.is_none());

    c.chat(json!({"message": "hi"})).await;
    let list: ProvidersOut = c.app.get("/providers", &c.token).await.expect(200).json();
    let breaker = &find(&list, "openai").breaker;
    assert_eq!(breaker.state, "open");
    let opened = breaker.opened_at.unwrap();
    assert_eq!(
        breaker.retry_at,
        Some(opened + chrono::Duration::seconds(90))
    );
    // Other providers keep their own breaker.
    assert_eq!(find(&list, "claude").breaker.state, "closed");
    let raw: Value = c.app.get("/providers", &c.token).await.json();
    assert!(raw["providers"][0]["breaker"]["openedAt"].is_string());
}
