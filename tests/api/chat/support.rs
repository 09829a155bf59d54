//! Chat test support: an app wired to a fake LLM, a user with an onboarded workspace, SSE
//! parsing and direct database access.

use std::time::Duration;

use astra::{Config, providers::InferenceConfig, store::Store};
use serde_json::{Value, json};

use super::fake_llm::FakeLlm;
use crate::helpers::{Resp, TestApp, spawn_app_with};

/// An app whose `openai` provider is the fake, with a user and an onboarded workspace.
pub struct ChatApp {
    pub app: TestApp,
    pub token: String,
    pub ws: String,
}

/// Points the `openai` provider at the fake and makes retries fast.
pub fn use_fake(config: &mut Config, fake: &FakeLlm) {
    let base = fake.base_url.clone();
    let env = move |k: &str| match k {
        "OPENAI_API_KEY" => Some("test-key".to_string()),
        "OPENAI_BASE_URL" => Some(base.clone()),
        _ => None,
    };
    let inference = json!({"retries": {"maxRetries": 1, "baseDelayMs": 5, "maxDelayMs": 20}, "timeoutMs": 5000});
    config.inference = InferenceConfig::from_sources(Some(&inference), &env).unwrap();
    config.default_provider = "openai".into();
    config.default_model = "gpt-4o-mini".into();
    config.limits.ip_per_minute = 0;
    config.limits.user_per_minute = 0;
    config.webhook_retry_base = Duration::from_millis(20);
}

/// Boots the app against `fake`, registers a user and runs onboarding.
pub async fn chat_app(fake: &FakeLlm) -> ChatApp {
    chat_app_with(fake, |_| {}).await
}

/// Like [`chat_app`], letting the test adjust the configuration afterwards.
pub async fn chat_app_with(fake: &FakeLlm, adjust: impl FnOnce(&mut Config)) -> ChatApp {
    let app = spawn_app_with(|c| {
        use_fake(c, fake);
        adjust(c);
    })
    .await;
    let email = format!("chat-{}@example.com", uuid::Uuid::now_v7().simple());
    let (token, _, _) = app.register(&email).await;
    let r = app
        .post(
            "/onboarding/setup",
            &token,
            json!({"workspaceName": "Chat"}),
        )
        .await
        .expect(201);
    let ws = r.body["workspace"]["id"].as_str().unwrap().to_string();
    ChatApp { app, token, ws }
}

impl ChatApp {
    /// POST /agent/chat with the workspace header.
    pub async fn chat(&self, body: Value) -> Resp {
        self.chat_with(body, &[]).await
    }

    pub async fn chat_with(&self, body: Value, extra: &[(&str, &str)]) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![
            ("authorization", auth.as_str()),
            ("x-workspace-id", self.ws.as_str()),
        ];
        headers.extend_from_slice(extra);
        self.app
            .send(reqwest::Method::POST, "/agent/chat", Some(body), &headers)
            .await
    }

    /// POST /agent/chat/stream and collect every event until the stream ends.
    pub async fn stream(&self, body: Value) -> (u16, Vec<(String, Value)>) {
        let res = self.stream_request(body).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, parse_sse(&text))
    }

    /// Opens the SSE request and returns the live response.
    pub async fn stream_request(&self, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(self.app.url("/agent/chat/stream"))
            .bearer_auth(&self.token)
            .header("x-workspace-id", &self.ws)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Creates an agent in the workspace.
    pub async fn create_agent(&self, config: Value) -> Resp {
        let auth = format!("Bearer {}", self.token);
        self.app
            .send(
                reqwest::Method::POST,
                "/agents",
                Some(config),
                &[("authorization", &auth), ("x-workspace-id", &self.ws)],
            )
            .await
            .expect(201)
    }

    /// A store on the app's database, for assertions on what was recorded.
    pub async fn store(&self) -> Store {
        Store::connect(&self.app.config).await.unwrap()
    }
}

/// An agent config on the fake's provider with the given extras merged in.
pub fn agent(id: &str, extra: Value) -> Value {
    let mut base = json!({
        "id": id,
        "displayName": id,
        "model": {"provider": "openai", "modelId": "gpt-4o-mini"},
        "systemPromptTemplate": "You are {{agent.name}}.",
        "skills": ["utilities"],
    });
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

/// Parses an SSE body into (event, data) pairs (comments skipped).
pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut event = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if !data.is_empty() {
            out.push((
                event,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
            ));
        }
    }
    out
}

/// Event names in order.
pub fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}
