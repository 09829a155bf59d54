//! Helpers shared by the operations tests (sessions, costs, traces, admin, diagnostics,
//! autonomous): calls with a workspace header or the internal key, and extra onboarded users.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TEST_INTERNAL_KEY, TestApp};

/// GET with a bearer token and `X-Workspace-Id`.
pub async fn get_in(app: &TestApp, path: &str, token: &str, ws: &str) -> Resp {
    let auth = format!("Bearer {token}");
    app.send(
        Method::GET,
        path,
        None,
        &[("authorization", &auth), ("x-workspace-id", ws)],
    )
    .await
}

/// GET with the internal API key.
pub async fn key_get(app: &TestApp, path: &str) -> Resp {
    app.send(Method::GET, path, None, &[("x-api-key", TEST_INTERNAL_KEY)])
        .await
}

/// POST with the internal API key.
pub async fn key_post(app: &TestApp, path: &str, body: Value) -> Resp {
    app.send(
        Method::POST,
        path,
        Some(body),
        &[("x-api-key", TEST_INTERNAL_KEY)],
    )
    .await
}

/// A user with an onboarded workspace: (token, uid, workspace id).
pub async fn onboarded(app: &TestApp, email: &str) -> (String, String, String) {
    let (token, uid, _) = app.register(email).await;
    let r = app
        .post("/onboarding/setup", &token, json!({"workspaceName": email}))
        .await
        .expect(201);
    let ws = r.body["workspace"]["id"].as_str().unwrap().to_string();
    (token, uid, ws)
}

/// The id of the workspace owner (the user a `ChatApp` registered).
pub async fn owner_of(app: &TestApp, token: &str, ws: &str) -> String {
    let r = app
        .get(&format!("/workspaces/{ws}"), token)
        .await
        .expect(200);
    r.body["ownerId"].as_str().unwrap().to_string()
}

/// POST /agent/chat as another user of the same app.
pub async fn chat_as(app: &TestApp, token: &str, ws: &str, body: Value) -> Resp {
    let auth = format!("Bearer {token}");
    app.send(
        Method::POST,
        "/agent/chat",
        Some(body),
        &[("authorization", &auth), ("x-workspace-id", ws)],
    )
    .await
}
