//! `/v1`, the OpenAI-compatible surface: models, completions (JSON and chunks), sessions,
//! and errors in OpenAI's `{error: {message, type, param, code}}` shape; the conversation and
//! sampling overrides, pass-through models and the remaining error shapes in the submodules.

mod conversation;
mod errors;
mod passthrough;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Answer, ChatApp, FakeLlm, Resp, agent, chat_app, chat_app_with, has_tool_result,
    last_user_text, offers_tools,
};

impl ChatApp {
    async fn v1(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend_from_slice(extra);
        self.app.send(method, path, body, &headers).await
    }

    async fn complete(&self, body: Value, extra: &[(&str, &str)]) -> Resp {
        self.v1(Method::POST, "/v1/chat/completions", Some(body), extra)
            .await
    }

    /// A streamed completion: the status and the `data:` payloads in order.
    async fn complete_stream(&self, body: Value) -> (u16, Vec<String>) {
        let res = self
            .app
            .client
            .post(self.app.url("/v1/chat/completions"))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        let data = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
            .map(str::to_string)
            .collect();
        (status, data)
    }
}

fn ask(text: &str) -> Value {
    json!({"model": "agent/chad", "messages": [{"role": "user", "content": text}]})
}

/// Asserts an OpenAI error body with this status, type and code.
#[track_caller]
fn assert_v1_error(r: &Resp, status: u16, kind: &str, code: &str) {
    assert_eq!(r.status, status, "body: {}", r.text);
    let e = &r.body["error"];
    assert_eq!(e["type"], kind, "body: {}", r.text);
    assert_eq!(e["code"], code, "body: {}", r.text);
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(e.as_object().unwrap().contains_key("param"));
}

#[tokio::test]
async fn models_lists_the_agents_the_caller_may_run() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let r = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    assert_eq!(r.body["object"], "list");
    let data = r.body["data"].as_array().unwrap();
    let chad = data.iter().find(|m| m["id"] == "agent/chad").unwrap();
    assert_eq!(chad["object"], "model");
    assert!(chad["created"].as_i64().unwrap() > 0);
    assert!(chad["owned_by"].is_string());
    assert!(
        data.iter()
            .all(|m| m["id"].as_str().unwrap().starts_with("agent/"))
    );
}

#[tokio::test]
async fn models_include_accepted_grants_but_not_foreign_agents() {
    let fake = FakeLlm::saying("granted").await;
    let c = chat_app(&fake).await;
    let (other_token, _, _) = c
        .app
        .register(&crate::helpers::unique_email("v1-other"))
        .await;
    let other_ws = c.app.workspace(&other_token, "Other").await;
    let other_auth = format!("Bearer {other_token}");
    c.app
        .send(
            Method::POST,
            "/agents",
            Some(agent("secret", json!({}))),
            &[
                ("authorization", &other_auth),
                ("x-workspace-id", &other_ws),
            ],
        )
        .await
        .expect(201);
    let ids = |r: &Resp| -> Vec<String> {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    };
    let before = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    assert!(!ids(&before).contains(&"agent/secret".to_string()));
    let mut body = ask("hi");
    body["model"] = json!("agent/secret");
    let r = c.complete(body.clone(), &[]).await;
    assert_v1_error(&r, 403, "permission_error", "forbidden");
    crate::workspaces::grant_and_accept(
        &c.app,
        &other_ws,
        &other_token,
        &c.ws,
        &c.token,
        json!({"agentId": "secret"}),
    )
    .await;
    let after = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    let secret = after.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "agent/secret")
        .unwrap()
        .clone();
    assert_eq!(secret["owned_by"], json!(other_ws));
    let r = c.complete(body, &[]).await.expect(200);
    assert_eq!(r.body["choices"][0]["message"]["content"], "granted");
}

#[tokio::test]
async fn a_completion_answers_in_openai_shape_with_usage() {
    let fake = FakeLlm::saying("Hello there").await;
    let c = chat_app(&fake).await;
    let body = json!({"model": "agent/chad", "temperature": 0.2, "max_tokens": 50, "user": "u1",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "text", "text": "hi there"}]}]});
    let r = c.complete(body, &[]).await.expect(200);
    let b = &r.body;
    assert!(b["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], "agent/chad");
    assert!(b["created"].as_i64().unwrap() > 0);
    assert_eq!(b["choices"][0]["index"], 0);
    assert_eq!(b["choices"][0]["message"]["role"], "assistant");
    assert_eq!(b["choices"][0]["message"]["content"], "Hello there");
    assert_eq!(b["choices"][0]["finish_reason"], "stop");
    assert_eq!(b["usage"]["prompt_tokens"], 10);
    assert_eq!(b["usage"]["completion_tokens"], 5);
    assert_eq!(b["usage"]["total_tokens"], 15);
    assert!(b["astra"]["sessionId"].is_string());
    assert!(b["astra"]["surfaceId"].as_str().unwrap().starts_with("v1-"));
    assert!(b["astra"]["traceId"].is_string());
    assert_eq!(b["astra"]["toolsUsed"], json!([]));
    assert_eq!(last_user_text(&fake.last_request()), "hi there");
}

#[tokio::test]
async fn a_streamed_completion_sends_chunks_usage_and_done() {
    let fake = FakeLlm::always(Answer::chunks(&["Hel", "lo"]).into()).await;
    let c = chat_app(&fake).await;
    let mut body = ask("hi");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, data) = c.complete_stream(body).await;
    assert_eq!(status, 200);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello");
    let last = &chunks[chunks.len() - 2];
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(last["astra"]["sessionId"].is_string());
    assert_eq!(last["astra"]["toolsUsed"], json!([]));
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 15);
    // Without include_usage there is no usage chunk.
    let mut plain = ask("again");
    plain["stream"] = json!(true);
    let (_, data) = c.complete_stream(plain).await;
    assert!(data.iter().all(|d| !d.contains("\"usage\"")));
}

#[tokio::test]
async fn a_tool_round_runs_server_side_and_is_not_shown_as_tool_calls() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("The answer is 42")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let r = c.complete(ask("what is 6*7?"), &[]).await.expect(200);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "The answer is 42"
    );
    assert!(r.body["choices"][0]["message"].get("tool_calls").is_none());
    assert_eq!(r.body["astra"]["toolsUsed"], json!(["calculator"]));
    assert_eq!(r.body["usage"]["total_tokens"], 19 + 15);
    let mut body = ask("and 6*7 again?");
    body["stream"] = json!(true);
    let (_, data) = c.complete_stream(body).await;
    assert!(data.iter().all(|d| !d.contains("tool_calls")));
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["astra"]["toolsUsed"], json!(["calculator"]));
}

#[tokio::test]
async fn requests_are_stateless_unless_a_session_is_named() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let first = c.complete(ask("one"), &[]).await.expect(200);
    let second = c.complete(ask("two"), &[]).await.expect(200);
    assert_ne!(
        first.body["astra"]["sessionId"],
        second.body["astra"]["sessionId"]
    );
    // The second stateless request saw no earlier turn.
    let history = |req: Value| req["messages"].as_array().unwrap().len();
    let fresh = history(fake.last_request());
    let surface = first.body["astra"]["surfaceId"]
        .as_str()
        .unwrap()
        .to_string();
    let again = c
        .complete(ask("three"), &[("x-astra-session", surface.as_str())])
        .await
        .expect(200);
    assert_eq!(
        again.body["astra"]["sessionId"],
        first.body["astra"]["sessionId"]
    );
    assert_eq!(history(fake.last_request()), fresh + 2);
}

#[tokio::test]
async fn client_tools_and_bad_bodies_are_400() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mut body = ask("hi");
    body["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
    let r = c.complete(body, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    assert_eq!(r.body["error"]["param"], "tools");
    let none = json!({"model": "agent/chad", "messages": [{"role": "system", "content": "x"}]});
    let r = c.complete(none, &[]).await;
    assert_v1_error(&r, 400, "invalid_request_error", "validation_error");
    let r = c.complete(json!({"messages": []}), &[]).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn unknown_models_are_404_model_not_found() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mut body = ask("hi");
    body["model"] = json!("agent/nobody");
    let r = c.complete(body, &[]).await;
    assert_v1_error(&r, 404, "invalid_request_error", "model_not_found");
    let mut raw = ask("hi");
    raw["model"] = json!("gpt-4o");
    let r = c.complete(raw, &[]).await;
    assert_v1_error(&r, 404, "invalid_request_error", "model_not_found");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn missing_or_bad_credentials_are_401_in_openai_shape() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let r = c.app.send(Method::GET, "/v1/models", None, &[]).await;
    assert_v1_error(&r, 401, "authentication_error", "invalid_api_key");
    let r = c
        .app
        .send(
            Method::POST,
            "/v1/chat/completions",
            Some(ask("hi")),
            &[("authorization", "Bearer not-a-token")],
        )
        .await;
    assert_v1_error(&r, 401, "authentication_error", "invalid_api_key");
    // Other routes keep Astra's shape.
    c.app
        .send(Method::GET, "/agents", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn rate_limits_are_429_with_retry_after() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_per_minute = 1).await;
    let ok = c.complete(ask("1"), &[]).await.expect(200);
    assert_eq!(ok.header("ratelimit-policy"), Some("1;w=60"));
    let r = c.complete(ask("2"), &[]).await;
    assert_v1_error(&r, 429, "rate_limit_exceeded", "rate_limit_exceeded");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_completion() {
    let fake = FakeLlm::saying("once").await;
    let c = chat_app(&fake).await;
    let key = [("idempotency-key", "k-1")];
    let first = c.complete(ask("hi"), &key).await.expect(200);
    let again = c.complete(ask("hi"), &key).await.expect(200);
    assert_eq!(first.body, again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(fake.hits(), 1);
}

/// An `ak_` API key is what an OpenAI SDK holds: it lists models with `read` and completes
/// with `chat`, and a read-only key is refused the completion in OpenAI's shape.
#[tokio::test]
async fn an_api_key_works_as_the_sdk_key() {
    let fake = FakeLlm::saying("hello from a key").await;
    let c = chat_app(&fake).await;
    let make = |scopes: Value| {
        c.v1(
            Method::POST,
            "/api-keys",
            Some(json!({"name": "sdk", "scopes": scopes})),
            &[],
        )
    };
    let chat_key = make(json!(["read", "chat"])).await.expect(201).body["key"]
        .as_str()
        .unwrap()
        .to_string();
    let read_key = make(json!(["read"])).await.expect(201).body["key"]
        .as_str()
        .unwrap()
        .to_string();
    let as_key = |key: &str| format!("Bearer {key}");
    let auth = as_key(&chat_key);
    let models = c
        .app
        .send(
            Method::GET,
            "/v1/models",
            None,
            &[("authorization", auth.as_str())],
        )
        .await
        .expect(200);
    assert_eq!(models.body["object"], "list");
    let done = c
        .app
        .send(
            Method::POST,
            "/v1/chat/completions",
            Some(ask("hi")),
            &[("authorization", auth.as_str())],
        )
        .await
        .expect(200);
    assert_eq!(
        done.body["choices"][0]["message"]["content"],
        "hello from a key"
    );
    let read_only = as_key(&read_key);
    let refused = c
        .app
        .send(
            Method::POST,
            "/v1/chat/completions",
            Some(ask("hi")),
            &[("authorization", read_only.as_str())],
        )
        .await;
    assert_eq!(refused.status, 403, "body: {}", refused.text);
    assert!(
        refused.body["error"]["message"].is_string(),
        "{}",
        refused.text
    );
}
