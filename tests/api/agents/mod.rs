//! Agents group: CRUD, ETag/304, versions, global agents, roles, validation, isolation.

use reqwest::Method;
use serde_json::{Value, json};

mod access;
mod capabilities;
mod globals;
mod resolve;
mod validation;
mod versions;

use crate::helpers::{Agent, Resp, TestApp, spawn_app};

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
    let r = app
        .send_ws(Method::POST, "/agents", owner, ws, Some(agent("helper")))
        .await
        .expect(201);
    let b = &r.body;
    let created: Agent = r.json();
    assert_eq!(created.id, "helper");
    assert_eq!(created.workspace_id.as_deref(), Some(ws));
    assert_eq!((created.version, created.global), (1, false));
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
    assert!(created.skills.is_empty() && created.memory_profile_id.is_none());
    assert!(b["createdAt"].is_string() && b["updatedAt"].is_string());
    app.send_ws(Method::POST, "/agents", owner, ws, Some(agent("helper")))
        .await
        .expect_error(409, "CONFLICT");
    let got = app
        .get_in("/agents/helper", t.viewer.token.as_str(), ws)
        .await
        .expect(200);
    assert_eq!(got.body, r.body);
    let mut edited = got.body.clone();
    edited["displayName"] = json!("Helper Two");
    edited["tier"] = json!("premium");
    edited["model"]["fallback"] = json!({"provider": "claude", "modelId": "claude-x"});
    let put = app
        .send_ws(
            Method::PUT,
            "/agents/helper",
            t.admin.token.as_str(),
            ws,
            Some(edited),
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
    let list = app
        .get_in("/agents", t.member.token.as_str(), ws)
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
    app.send_ws(Method::DELETE, "/agents/helper", owner, ws, None)
        .await
        .expect(204);
    app.get_in("/agents/helper", owner, ws)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::DELETE, "/agents/helper", owner, ws, None)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(
        Method::PUT,
        "/agents/helper",
        owner,
        ws,
        Some(agent("helper")),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    // The id is free again, and its history starts over.
    let again = app
        .send_ws(Method::POST, "/agents", owner, ws, Some(agent("helper")))
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
        app.send_ws(Method::POST, "/agents", &token, &ws, Some(agent(id)))
            .await
            .expect(201);
    }
    let r = app
        .get_in("/agents?limit=2&offset=1", &token, &ws)
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
    app.get_in("/agents?limit=101", &token, &ws)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn etag_answers_304_until_the_agent_changes() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("etag@example.com").await;
    let ws = app.workspace(&token, "Etag").await;
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(agent("cached")))
        .await
        .expect(201);
    for path in ["/agents/cached", "/agents"] {
        let first = app.get_in(path, &token, &ws).await.expect(200);
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
    let before = app.get_in("/agents/cached", &token, &ws).await;
    let etag = before.header("etag").unwrap().to_string();
    let mut body = agent("cached");
    body["displayName"] = json!("Changed");
    app.send_ws(Method::PUT, "/agents/cached", &token, &ws, Some(body))
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
