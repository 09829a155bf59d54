//! Chat apps: a gateway whose `openai` provider is a [`FakeLlm`], with an onboarded user,
//! and the calls chat tests make.

use std::time::Duration;

use astra::{Config, providers::InferenceConfig};
use serde_json::{Value, json};

use super::{FakeLlm, Resp, TestApp, User, parse_sse, spawn_app_with, unique_email};

/// An app whose `openai` provider is the fake, with a user and an onboarded workspace.
pub struct ChatApp {
    pub app: TestApp,
    pub user: User,
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
    let user = app.onboarded_user(&unique_email("chat")).await;
    let (token, ws) = (user.token.clone(), user.ws.clone());
    ChatApp {
        app,
        user,
        token,
        ws,
    }
}

impl TestApp {
    /// POST /agent/chat with a bearer token in a workspace.
    pub async fn chat_in(&self, token: &str, ws: &str, body: Value) -> Resp {
        let post = reqwest::Method::POST;
        self.send_ws(post, "/agent/chat", token, ws, Some(body))
            .await
    }
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
        let r = self.app.post_as(&self.user, "/agents", config).await;
        r.expect(201)
    }

    /// A store on the app's database, for assertions on what was recorded.
    pub async fn store(&self) -> astra::store::Store {
        self.app.store().await
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
