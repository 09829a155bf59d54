//! Validation of every agent field and range, with per-field `details`.

use reqwest::Method;
use serde_json::{Value, json};

use super::agent;
use crate::helpers::spawn_app;

#[tokio::test]
async fn every_bad_field_is_named_in_one_response() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("val@example.com").await;
    let ws = app.workspace(&token, "Val").await;
    let body = json!({
        "id": "Bad Id!",
        "displayName": "",
        "tier": "gold",
        "model": {
            "provider": "skynet",
            "modelId": "",
            "maxContextTokens": 0,
            "maxOutputTokens": 0,
            "temperature": 2.5,
            "endpoint": "ftp://models.local",
            "fallback": {"provider": "nope", "modelId": "m"}
        },
        "systemPromptTemplate": "Hello {{user.phone}}",
        "skills": ["Web Research"],
        "tools": {"allow": ["ok", "ok"], "deny": [""]},
        "session": {"idleTimeoutMinutes": 43201, "dailyResetHour": 24},
        "maxToolRounds": 21,
        "memoryProfileId": "not-a-profile"
    });
    let r = app
        .send_ws(Method::POST, "/agents", &token, &ws, Some(body))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let details = r.body["details"].as_object().unwrap();
    for field in [
        "id",
        "displayName",
        "tier",
        "model.provider",
        "model.modelId",
        "model.maxContextTokens",
        "model.maxOutputTokens",
        "model.temperature",
        "model.endpoint",
        "model.fallback.provider",
        "systemPromptTemplate",
        "skills",
        "tools.allow",
        "tools.deny",
        "session.idleTimeoutMinutes",
        "session.dailyResetHour",
        "maxToolRounds",
        "memoryProfileId",
    ] {
        assert!(details.contains_key(field), "missing {field}: {}", r.text);
    }
    assert!(
        details["systemPromptTemplate"]
            .as_str()
            .unwrap()
            .contains("{{user.phone}}"),
        "{}",
        r.text
    );
    assert!(
        details["model.provider"]
            .as_str()
            .unwrap()
            .contains("skynet")
    );
}

async fn problem(app: &crate::helpers::TestApp, token: &str, ws: &str, body: Value) -> Value {
    let r = app
        .send_ws(Method::POST, "/agents", token, ws, Some(body))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    r.body["details"].clone()
}

#[tokio::test]
async fn required_fields_types_and_unknown_fields() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("val2@example.com").await;
    let ws = app.workspace(&token, "Val2").await;
    let d = problem(&app, &token, &ws, json!({"displayName": "x"})).await;
    assert!(d["id"].is_string() && d["model"].is_string(), "{d}");
    let d = problem(
        &app,
        &token,
        &ws,
        json!({"id": "x", "displayName": "x", "model": {}}),
    )
    .await;
    assert!(
        d["model.provider"].is_string() && d["model.modelId"].is_string(),
        "{d}"
    );
    let mut typo = agent("typo");
    typo["maxToolRound"] = json!(3);
    problem(&app, &token, &ws, typo).await;
    let mut typed = agent("typed");
    typed["model"]["temperature"] = json!("hot");
    let d = problem(&app, &token, &ws, typed).await;
    assert!(d["model.temperature"].is_string(), "{d}");
    let mut unclosed = agent("unclosed");
    unclosed["systemPromptTemplate"] = json!("Hi {{user.email");
    let d = problem(&app, &token, &ws, unclosed).await;
    assert!(d["systemPromptTemplate"].is_string(), "{d}");
    let mut long = agent("long");
    long["id"] = json!("a".repeat(65));
    let d = problem(&app, &token, &ws, long).await;
    assert!(d["id"].is_string(), "{d}");
    let mut dup = agent("dup");
    dup["skills"] = json!(["memory", "memory"]);
    let d = problem(&app, &token, &ws, dup).await;
    assert!(d["skills"].as_str().unwrap().contains("twice"), "{d}");
    let mut missing = agent("missing");
    missing["memoryProfileId"] = json!("mp_0000");
    let d = problem(&app, &token, &ws, missing).await;
    assert!(d["memoryProfileId"].is_string(), "{d}");
    // The id in a PUT body must match the path.
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(agent("same")))
        .await
        .expect(201);
    let r = app
        .send_ws(
            Method::PUT,
            "/agents/same",
            &token,
            &ws,
            Some(agent("other")),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["id"].is_string());
    // Without an id, the path's is used.
    let mut no_id = agent("same");
    no_id.as_object_mut().unwrap().remove("id");
    app.send_ws(Method::PUT, "/agents/same", &token, &ws, Some(no_id))
        .await
        .expect(200);
}

#[tokio::test]
async fn range_boundaries_are_accepted() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("val3@example.com").await;
    let ws = app.workspace(&token, "Val3").await;
    let mut low = agent("low-end");
    low["tier"] = json!("free");
    low["model"] = json!({"provider": "ollama", "modelId": "llama3.2", "maxContextTokens": 1, "maxOutputTokens": 1, "temperature": 0, "endpoint": "http://10.0.0.5:11434"});
    low["session"] = json!({"idleTimeoutMinutes": 0, "dailyResetHour": 0});
    low["maxToolRounds"] = json!(1);
    let r = app
        .send_ws(Method::POST, "/agents", &token, &ws, Some(low))
        .await
        .expect(201);
    assert_eq!(r.body["model"]["endpoint"], "http://10.0.0.5:11434");
    let mut high = agent("high_end");
    high["tier"] = json!("premium");
    high["model"] = json!({"provider": "bedrock", "modelId": "m", "maxContextTokens": 10_000_000, "maxOutputTokens": 1_000_000, "temperature": 2});
    high["session"] = json!({"idleTimeoutMinutes": 43200, "dailyResetHour": 23});
    high["maxToolRounds"] = json!(20);
    high["systemPromptTemplate"] = json!(
        "{{date}} {{time}} {{datetime}} {{weekday}} {{user.email}} {{user.id}} {{agent.id}} {{agent.name}} {{workspace.id}} {{workspace.name}} {{memory}} {{memory.profile}}"
    );
    high["tools"] = json!({"allow": ["calculator"], "deny": ["fetch_page"]});
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(high))
        .await
        .expect(201);
    for provider in [
        "openai",
        "claude",
        "gemini",
        "grok",
        "groq",
        "mistral",
        "openrouter",
        "vllm",
    ] {
        let mut a = agent(&format!("p-{provider}"));
        a["model"]["provider"] = json!(provider);
        app.send_ws(Method::POST, "/agents", &token, &ws, Some(a))
            .await
            .expect(201);
    }
}

#[tokio::test]
async fn workspace_restrictions_apply_to_agent_models() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("val4@example.com").await;
    let ws = app.workspace(&token, "Val4").await;
    app.put(
        &format!("/workspaces/{ws}/restrictions"),
        &token,
        json!({"allowedProviders": ["claude"], "allowedModels": ["claude-x"]}),
    )
    .await
    .expect(200);
    let d = problem(&app, &token, &ws, agent("blocked")).await;
    assert!(
        d["model.provider"].is_string() && d["model.modelId"].is_string(),
        "{d}"
    );
    let mut ok = agent("allowed");
    ok["model"] = json!({"provider": "claude", "modelId": "claude-x"});
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(ok))
        .await
        .expect(201);
}
