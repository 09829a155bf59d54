//! `openai.passthroughModels`: raw provider models as `<provider>/<model>` — off by default
//! (404 `model_not_found`), and when on, listed and answered by one plain provider call that
//! is billed, traced, budgeted and rate limited like a turn.

use reqwest::Method;
use serde_json::{Value, json};

use super::assert_v1_error;
use crate::helpers::{Answer, FakeLlm, chat_app, chat_app_with};

fn raw(text: &str) -> Value {
    json!({"model": "openai/gpt-4o-mini", "temperature": 0.5, "max_tokens": 33, "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Earlier question"},
        {"role": "assistant", "content": "Earlier answer"},
        {"role": "user", "content": text}]})
}

fn ids(r: &crate::helpers::Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn raw_models_are_unknown_while_passthrough_is_off() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let models = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    assert!(ids(&models).iter().all(|id| id.starts_with("agent/")));
    let r = c.complete(raw("hi"), &[]).await;
    assert_v1_error(&r, 404, "invalid_request_error", "model_not_found");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn passthrough_lists_and_proxies_priced_models_of_configured_providers() {
    let fake = FakeLlm::always(Answer::text("raw answer").usage(12, 3).into()).await;
    let c = chat_app_with(&fake, |cfg| cfg.openai.passthrough_models = true).await;
    let models = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    let listed = ids(&models);
    assert!(listed.contains(&"agent/chad".to_string()));
    assert!(listed.contains(&"openai/gpt-4o-mini".to_string()));
    // Only configured providers (the fake is `openai`), and no embedding models.
    assert!(!listed.iter().any(|id| id.starts_with("claude/")));
    assert!(!listed.iter().any(|id| id.contains("embedding")));
    let entry = models.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "openai/gpt-4o-mini")
        .unwrap()
        .clone();
    assert_eq!(entry["owned_by"], "openai");
    // An unpriced or unconfigured model is still unknown.
    let mut unknown = raw("hi");
    unknown["model"] = json!("claude/claude-sonnet-4");
    let r = c.complete(unknown, &[]).await;
    assert_v1_error(&r, 404, "invalid_request_error", "model_not_found");

    let r = c.complete(raw("Now?"), &[]).await.expect(200);
    assert_eq!(r.body["model"], "openai/gpt-4o-mini");
    assert_eq!(r.body["choices"][0]["message"]["content"], "raw answer");
    assert_eq!(r.body["usage"]["total_tokens"], 15);
    assert!(r.body["astra"].get("sessionId").is_none());
    assert_eq!(r.body["astra"]["toolsUsed"], json!([]));
    // The upstream got the client's messages as they were: no agent prompt, no tools.
    let sent = fake.last_request();
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["max_completion_tokens"], 33);
    assert!(sent.get("tools").is_none());
    let messages: Vec<(String, String)> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("system", "You are terse."),
        ("user", "Earlier question"),
        ("assistant", "Earlier answer"),
        ("user", "Now?"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(messages, expected);
    // Billed and traced under the model's id.
    let trace_id = r.body["astra"]["traceId"].as_str().unwrap();
    let trace = c
        .app
        .get_in(&format!("/traces/{trace_id}"), &c.token, &c.ws)
        .await
        .expect(200);
    assert_eq!(trace.body["agentId"], "openai/gpt-4o-mini");
    assert_eq!(trace.body["status"], "ok");
    assert_eq!(trace.body["promptTokens"], 12);
    assert!(trace.body["costUsd"].as_f64().unwrap() > 0.0);
    assert_eq!(trace.body["detail"]["inference"][0]["model"], "gpt-4o-mini");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let spent = c
        .store()
        .await
        .turns()
        .month_tokens(&c.user.id, &month)
        .await
        .unwrap();
    assert_eq!(spent, 15);
}

#[tokio::test]
async fn a_streamed_passthrough_sends_chunks_and_usage() {
    let fake = FakeLlm::always(Answer::chunks(&["ra", "w"]).into()).await;
    let c = chat_app_with(&fake, |cfg| cfg.openai.passthrough_models = true).await;
    let mut body = raw("stream it");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, data) = c.complete_stream(body).await;
    assert_eq!(status, 200);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "raw");
    let last = &chunks[chunks.len() - 2];
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(last["astra"]["traceId"].is_string());
    assert!(last["astra"].get("sessionId").is_none());
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 15);
}

#[tokio::test]
async fn passthrough_obeys_budgets_rate_limits_and_restrictions() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.openai.passthrough_models = true;
        cfg.limits.user_per_minute = 2;
    })
    .await;
    c.app
        .put(
            &format!("/workspaces/{}/restrictions", c.ws),
            &c.token,
            json!({"allowedProviders": ["openai"], "allowedModels": ["gpt-4o"]}),
        )
        .await
        .expect(200);
    let models = c.v1(Method::GET, "/v1/models", None, &[]).await.expect(200);
    let listed = ids(&models);
    assert!(listed.contains(&"openai/gpt-4o".to_string()));
    assert!(!listed.contains(&"openai/gpt-4o-mini".to_string()));
    let r = c.complete(raw("hi"), &[]).await;
    assert_v1_error(&r, 403, "permission_error", "forbidden");
    let mut allowed = raw("hi");
    allowed["model"] = json!("openai/gpt-4o");
    c.complete(allowed.clone(), &[]).await.expect(200);
    let r = c.complete(allowed, &[]).await;
    assert_v1_error(&r, 429, "rate_limit_exceeded", "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn passthrough_spends_the_monthly_token_budget() {
    let fake = FakeLlm::always(Answer::text("ok").usage(40, 10).into()).await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.openai.passthrough_models = true;
        cfg.limits.user_tokens_per_month = 60;
    })
    .await;
    c.complete(raw("hi"), &[]).await.expect(200);
    let r = c.complete(raw("hi"), &[]).await;
    assert_v1_error(&r, 429, "rate_limit_exceeded", "token_budget_exceeded");
    assert!(r.header("retry-after").is_some());
    assert_eq!(fake.hits(), 1);
}
