//! Agents group: CRUD, ETag/304, versions, global agents, roles, validation, isolation.

use reqwest::Method;
use serde_json::{Value, json};

mod access;
mod capabilities;
mod globals;
mod resolve;
mod validation;
mod versions;

use crate::helpers::{Resp, TestApp, spawn_app};

/// A request in workspace `ws` with extra headers.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    ws: &str,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Resp {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("authorization", auth.as_str()), ("x-workspace-id", ws)];
    headers.extend_from_slice(extra);
    app.send(method, path, body, &headers).await
}

/// A valid agent body.
pub fn agent(id: &str) -> Value {
    json!({
        "id": id,
        "displayName": format!("Agent {id}"),
        "model": {"provider": "openai", "modelId": "gpt-4o-mini"},
        "systemPromptTemplate": "You are {{agent.name}}. Today is {{date}}.",
    })
}

#[tokio::test]
async fn crud_round_trip_with_defaults() {
    let app = spawn_app().await;
    let t = app.team_named("crud-").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.token.as_str());
    let r = call(
        &app,
        Method::POST,
        "/agents",
        owner,
        ws,
        Some(agent("helper")),
        &[],
    )
    .await
    .expect(201);
    let b = &r.body;
    assert_eq!(b["id"], "helper");
    assert_eq!(b["workspaceId"], ws);
    assert_eq!(
        (b["version"].as_i64(), b["global"].as_bool()),
        (Some(1), Some(false))
    );
    assert_eq!(b["tier"], "standard");
    assert_eq!(b["model"]["maxOutputTokens"], 4096);
    assert_eq!(b["model"]["temperature"], 0.7);
    assert!(b["model"]["maxContextTokens"].is_null() && b["model"]["fallback"].is_null());
    assert_eq!(b["maxToolRounds"], 5);
    assert_eq!(
        b["session"],
        json!({"idleTimeoutMinutes": 30, "dailyResetHour": 4})
    );
    assert_eq!(b["tools"], json!({"allow": [], "deny": []}));
    assert_eq!(b["skills"], json!([]));
    assert!(
        b["memoryProfileId"].is_null() && b["createdAt"].is_string() && b["updatedAt"].is_string()
    );
    call(
        &app,
        Method::POST,
        "/agents",
        owner,
        ws,
        Some(agent("helper")),
        &[],
    )
    .await
    .expect_error(409, "CONFLICT");
    let got = call(
        &app,
        Method::GET,
        "/agents/helper",
        t.viewer.token.as_str(),
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(got.body, r.body);
    let mut edited = got.body.clone();
    edited["displayName"] = json!("Helper Two");
    edited["tier"] = json!("premium");
    edited["model"]["fallback"] = json!({"provider": "claude", "modelId": "claude-x"});
    let put = call(
        &app,
        Method::PUT,
        "/agents/helper",
        t.admin.token.as_str(),
        ws,
        Some(edited),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (
            put.body["version"].as_i64(),
            put.body["displayName"].as_str()
        ),
        (Some(2), Some("Helper Two"))
    );
    assert_eq!(put.body["model"]["fallback"]["provider"], "claude");
    let list = call(
        &app,
        Method::GET,
        "/agents",
        t.member.token.as_str(),
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (
            list.body["total"].as_i64(),
            list.body["limit"].as_i64(),
            list.body["offset"].as_i64()
        ),
        (Some(1), Some(20), Some(0))
    );
    assert_eq!(list.body["items"][0]["tier"], "premium");
    call(&app, Method::DELETE, "/agents/helper", owner, ws, None, &[])
        .await
        .expect(204);
    call(&app, Method::GET, "/agents/helper", owner, ws, None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    call(&app, Method::DELETE, "/agents/helper", owner, ws, None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    call(
        &app,
        Method::PUT,
        "/agents/helper",
        owner,
        ws,
        Some(agent("helper")),
        &[],
    )
    .await
    .expect_error(404, "NOT_FOUND");
    // The id is free again, and its history starts over.
    let again = call(
        &app,
        Method::POST,
        "/agents",
        owner,
        ws,
        Some(agent("helper")),
        &[],
    )
    .await
    .expect(201);
    assert_eq!(again.body["version"], 1);
}

#[tokio::test]
async fn list_is_paginated_by_id() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("page@example.com").await;
    let ws = app.workspace(&token, "Paging").await;
    for id in ["c-agent", "a-agent", "b_agent"] {
        call(
            &app,
            Method::POST,
            "/agents",
            &token,
            &ws,
            Some(agent(id)),
            &[],
        )
        .await
        .expect(201);
    }
    let r = call(
        &app,
        Method::GET,
        "/agents?limit=2&offset=1",
        &token,
        &ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(r.body["total"], 3);
    let ids: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["b_agent", "c-agent"]);
    call(
        &app,
        Method::GET,
        "/agents?limit=101",
        &token,
        &ws,
        None,
        &[],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn etag_answers_304_until_the_agent_changes() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("etag@example.com").await;
    let ws = app.workspace(&token, "Etag").await;
    call(
        &app,
        Method::POST,
        "/agents",
        &token,
        &ws,
        Some(agent("cached")),
        &[],
    )
    .await
    .expect(201);
    for path in ["/agents/cached", "/agents"] {
        let first = call(&app, Method::GET, path, &token, &ws, None, &[])
            .await
            .expect(200);
        let etag = first.header("etag").expect("etag").to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(first.header("cache-control"), Some("private, max-age=30"));
        let again = call(
            &app,
            Method::GET,
            path,
            &token,
            &ws,
            None,
            &[("if-none-match", etag.as_str())],
        )
        .await
        .expect(304);
        assert!(again.text.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        call(
            &app,
            Method::GET,
            path,
            &token,
            &ws,
            None,
            &[("if-none-match", "\"stale\"")],
        )
        .await
        .expect(200);
    }
    let before = call(&app, Method::GET, "/agents/cached", &token, &ws, None, &[]).await;
    let etag = before.header("etag").unwrap().to_string();
    let mut body = agent("cached");
    body["displayName"] = json!("Changed");
    call(
        &app,
        Method::PUT,
        "/agents/cached",
        &token,
        &ws,
        Some(body),
        &[],
    )
    .await
    .expect(200);
    let after = call(
        &app,
        Method::GET,
        "/agents/cached",
        &token,
        &ws,
        None,
        &[("if-none-match", etag.as_str())],
    )
    .await
    .expect(200);
    assert_ne!(after.header("etag"), Some(etag.as_str()));
}

pub fn global(id: &str, name: &str) -> Value {
    json!({"id": id, "displayName": name, "model": {"provider": "claude", "modelId": "claude-x"}, "skills": ["utilities"]})
}
