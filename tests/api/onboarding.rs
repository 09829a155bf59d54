//! Onboarding: one workspace with starter agents, idempotent per user.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn setup_creates_once_then_returns_the_same_workspace() {
    let app = spawn_app().await;
    let (token, uid, _) = app.register("onboard@example.com").await;
    let r = app
        .post(
            "/onboarding/setup",
            &token,
            json!({"workspaceName": "Acme", "plan": "pro"}),
        )
        .await
        .expect(201);
    let ws = &r.body["workspace"];
    let ws_id = ws["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            ws["name"].as_str(),
            ws["plan"].as_str(),
            ws["ownerId"].as_str()
        ),
        (Some("Acme"), Some("pro"), Some(uid.as_str()))
    );
    assert_eq!(ws["yourRole"], "owner");
    assert!(ws["settings"]["onboardedAt"].is_string(), "{}", r.text);
    let agents = r.body["agents"].as_array().unwrap();
    let chad = agents.iter().find(|a| a["id"] == "chad").expect("chad");
    assert_eq!(
        chad["skills"],
        json!(["utilities", "web_research", "memory"])
    );
    assert_eq!(
        chad["model"]["provider"],
        app.config.default_provider.as_str()
    );
    assert_eq!(chad["model"]["modelId"], app.config.default_model.as_str());
    assert_eq!(
        (chad["workspaceId"].as_str(), chad["version"].as_i64()),
        (Some(ws_id.as_str()), Some(1))
    );
    assert!(agents.iter().any(|a| a["id"] == "researcher"));
    let again = app
        .post(
            "/onboarding/setup",
            &token,
            json!({"workspaceName": "Other"}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["workspace"]["id"], ws_id.as_str());
    assert_eq!(again.body["workspace"]["name"], "Acme");
    assert_eq!(again.body["agents"].as_array().unwrap().len(), agents.len());
    let list = app.get("/workspaces", &token).await.expect(200);
    assert_eq!(list.body["total"], 1);
    // The seeded agents are ordinary workspace agents.
    let chad = app.get("/agents/chad", &token).await.expect(200);
    assert_eq!(chad.body["global"], false);
    let versions = app.get("/agents/chad/versions", &token).await.expect(200);
    assert_eq!(versions.body["total"], 1);
}

#[tokio::test]
async fn concurrent_setups_make_one_workspace() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("race@example.com").await;
    let (a, b) = tokio::join!(
        app.post("/onboarding/setup", &token, json!({})),
        app.post("/onboarding/setup", &token, json!({}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{} / {}", a.text, b.text);
    assert_eq!(a.body["workspace"]["id"], b.body["workspace"]["id"]);
    let list = app.get("/workspaces", &token).await.expect(200);
    assert_eq!(list.body["total"], 1);
}

#[tokio::test]
async fn setup_uses_the_configured_default_model() {
    let app = spawn_app_with(|c| {
        c.default_provider = "claude".into();
        c.default_model = "claude-x".into();
    })
    .await;
    let (token, _, _) = app.register("cfg@example.com").await;
    let auth = format!("Bearer {token}");
    let r = app
        .send(
            Method::POST,
            "/onboarding/setup",
            None,
            &[("authorization", &auth)],
        )
        .await
        .expect(201);
    assert_eq!(r.body["workspace"]["name"], "My Workspace");
    assert_eq!(r.body["workspace"]["plan"], "free");
    let chad = r.body["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "chad")
        .cloned()
        .unwrap();
    assert_eq!(
        chad["model"],
        json!({"provider": "claude", "modelId": "claude-x", "maxContextTokens": null, "maxOutputTokens": 4096, "temperature": 0.7, "endpoint": null, "fallback": null})
    );
}

#[tokio::test]
async fn setup_validates_input_and_needs_a_token() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("bad-onboard@example.com").await;
    let r = app
        .post("/onboarding/setup", &token, json!({"workspaceName": " "}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["workspaceName"].is_string());
    app.post("/onboarding/setup", &token, json!({"plan": "Gold!"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.post("/onboarding/setup", &token, json!({"extra": 1}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.send(Method::POST, "/onboarding/setup", Some(json!({})), &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    // Nothing was created by the refused calls.
    let list = app.get("/workspaces", &token).await.expect(200);
    assert_eq!(list.body["total"], 0);
}
