//! Agents group: CRUD, ETag/304, versions, global agents, roles, validation, isolation.

use reqwest::Method;
use serde_json::{Value, json};

mod resolve;
mod validation;

use crate::helpers::{Resp, TestApp, spawn_app, spawn_app_with};

/// A workspace with an owner, an admin, a member and a viewer.
pub struct Team {
    pub ws: String,
    pub owner: String,
    pub admin: String,
    pub member: String,
    pub viewer: String,
}

pub async fn team(app: &TestApp, prefix: &str) -> Team {
    let email = |role: &str| format!("{prefix}-{role}@example.com");
    let (owner, _, _) = app.register(&email("owner")).await;
    let (admin, _, _) = app.register(&email("admin")).await;
    let (member, _, _) = app.register(&email("member")).await;
    let (viewer, _, _) = app.register(&email("viewer")).await;
    let ws = app.workspace(&owner, prefix).await;
    for role in ["admin", "member", "viewer"] {
        app.post(
            &format!("/workspaces/{ws}/members"),
            &owner,
            json!({"email": email(role), "role": role}),
        )
        .await
        .expect(201);
    }
    Team {
        ws,
        owner,
        admin,
        member,
        viewer,
    }
}

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
    let t = team(&app, "crud").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.as_str());
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
        t.viewer.as_str(),
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
        t.admin.as_str(),
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
        t.member.as_str(),
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

#[tokio::test]
async fn versions_rollback_and_labels() {
    let app = spawn_app().await;
    let t = team(&app, "ver").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.as_str());
    call(
        &app,
        Method::POST,
        "/agents",
        owner,
        ws,
        Some(agent("v")),
        &[],
    )
    .await
    .expect(201);
    let mut second = agent("v");
    second["displayName"] = json!("Second");
    second["maxToolRounds"] = json!(9);
    call(&app, Method::PUT, "/agents/v", owner, ws, Some(second), &[])
        .await
        .expect(200);
    let list = call(
        &app,
        Method::GET,
        "/agents/v/versions",
        t.viewer.as_str(),
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(list.body["total"], 2);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(
        (items[0]["version"].as_i64(), items[1]["version"].as_i64()),
        (Some(2), Some(1))
    );
    assert!(
        items[0]["createdBy"].as_str().unwrap().starts_with("usr_") && items[0]["config"].is_null()
    );
    let v1 = call(
        &app,
        Method::GET,
        "/agents/v/versions/1",
        t.member.as_str(),
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(v1.body["config"]["displayName"], "Agent v");
    assert_eq!(v1.body["config"]["maxToolRounds"], 5);
    let rolled = call(
        &app,
        Method::POST,
        "/agents/v/versions/1/rollback",
        t.admin.as_str(),
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (
            rolled.body["version"].as_i64(),
            rolled.body["displayName"].as_str()
        ),
        (Some(3), Some("Agent v"))
    );
    let live = call(&app, Method::GET, "/agents/v", owner, ws, None, &[])
        .await
        .expect(200);
    assert_eq!(
        (
            live.body["version"].as_i64(),
            live.body["maxToolRounds"].as_i64()
        ),
        (Some(3), Some(5))
    );
    let v3 = call(
        &app,
        Method::GET,
        "/agents/v/versions/3",
        owner,
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(v3.body["config"]["displayName"], "Agent v");
    let labelled = call(
        &app,
        Method::PATCH,
        "/agents/v/versions/1",
        owner,
        ws,
        Some(json!({"label": "baseline"})),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(labelled.body["label"], "baseline");
    let list = call(
        &app,
        Method::GET,
        "/agents/v/versions?limit=1&offset=2",
        owner,
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (
            list.body["items"][0]["version"].as_i64(),
            list.body["items"][0]["label"].as_str()
        ),
        (Some(1), Some("baseline"))
    );
    let cleared = call(
        &app,
        Method::PATCH,
        "/agents/v/versions/1",
        owner,
        ws,
        Some(json!({"label": null})),
        &[],
    )
    .await
    .expect(200);
    assert!(cleared.body["label"].is_null());
    let long = "x".repeat(101);
    call(
        &app,
        Method::PATCH,
        "/agents/v/versions/1",
        owner,
        ws,
        Some(json!({"label": long})),
        &[],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    for (method, path) in [
        (Method::GET, "/agents/v/versions/99"),
        (Method::POST, "/agents/v/versions/99/rollback"),
        (Method::GET, "/agents/nobody/versions"),
        (Method::GET, "/agents/nobody/versions/1"),
    ] {
        call(&app, method, path, owner, ws, None, &[])
            .await
            .expect_error(404, "NOT_FOUND");
    }
    call(
        &app,
        Method::PATCH,
        "/agents/v/versions/99",
        owner,
        ws,
        Some(json!({"label": "x"})),
        &[],
    )
    .await
    .expect_error(404, "NOT_FOUND");
    call(
        &app,
        Method::GET,
        "/agents/v/versions/latest",
        owner,
        ws,
        None,
        &[],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn viewers_and_members_cannot_write() {
    let app = spawn_app().await;
    let t = team(&app, "roles").await;
    let ws = t.ws.as_str();
    call(
        &app,
        Method::POST,
        "/agents",
        &t.admin,
        ws,
        Some(agent("shared")),
        &[],
    )
    .await
    .expect(201);
    for token in [&t.member, &t.viewer] {
        call(
            &app,
            Method::POST,
            "/agents",
            token,
            ws,
            Some(agent("mine")),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::PUT,
            "/agents/shared",
            token,
            ws,
            Some(agent("shared")),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(&app, Method::DELETE, "/agents/shared", token, ws, None, &[])
            .await
            .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::POST,
            "/agents/shared/versions/1/rollback",
            token,
            ws,
            None,
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::PATCH,
            "/agents/shared/versions/1",
            token,
            ws,
            Some(json!({"label": "x"})),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(&app, Method::GET, "/agents", token, ws, None, &[])
            .await
            .expect(200);
        call(&app, Method::GET, "/agents/shared", token, ws, None, &[])
            .await
            .expect(200);
        call(
            &app,
            Method::GET,
            "/agents/shared/versions",
            token,
            ws,
            None,
            &[],
        )
        .await
        .expect(200);
    }
    let r = call(&app, Method::GET, "/agents/shared", &t.owner, ws, None, &[])
        .await
        .expect(200);
    assert_eq!(r.body["version"], 1);
}

#[tokio::test]
async fn agents_of_another_workspace_are_invisible() {
    let app = spawn_app().await;
    let (a, _, _) = app.register("iso-a@example.com").await;
    let (b, _, _) = app.register("iso-b@example.com").await;
    let ws_a = app.workspace(&a, "A").await;
    let ws_b = app.workspace(&b, "B").await;
    call(
        &app,
        Method::POST,
        "/agents",
        &a,
        &ws_a,
        Some(agent("secret")),
        &[],
    )
    .await
    .expect(201);
    for (method, path, body) in [
        (Method::GET, "/agents/secret", None),
        (Method::PUT, "/agents/secret", Some(agent("secret"))),
        (Method::DELETE, "/agents/secret", None),
        (Method::GET, "/agents/secret/versions", None),
        (Method::GET, "/agents/secret/versions/1", None),
        (Method::POST, "/agents/secret/versions/1/rollback", None),
    ] {
        call(&app, method, path, &b, &ws_b, body, &[])
            .await
            .expect_error(404, "NOT_FOUND");
    }
    let list = call(&app, Method::GET, "/agents", &b, &ws_b, None, &[])
        .await
        .expect(200);
    assert_eq!(list.body["total"], 0);
    // B may create its own agent with the same id; each workspace keeps its own.
    call(
        &app,
        Method::POST,
        "/agents",
        &b,
        &ws_b,
        Some(agent("secret")),
        &[],
    )
    .await
    .expect(201);
    call(&app, Method::DELETE, "/agents/secret", &b, &ws_b, None, &[])
        .await
        .expect(204);
    call(&app, Method::GET, "/agents/secret", &a, &ws_a, None, &[])
        .await
        .expect(200);
    // Naming A's workspace without being a member is refused outright.
    call(&app, Method::GET, "/agents/secret", &b, &ws_a, None, &[])
        .await
        .expect_error(403, "FORBIDDEN");
}

pub fn global(id: &str, name: &str) -> Value {
    json!({"id": id, "displayName": name, "model": {"provider": "claude", "modelId": "claude-x"}, "skills": ["utilities"]})
}

#[tokio::test]
async fn global_agents_are_read_only_and_shadowed_per_workspace() {
    let app = spawn_app_with(|c| {
        c.file.agents = vec![global("oracle", "Oracle"), global("scribe", "Scribe")]
    })
    .await;
    let t = team(&app, "glob").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.as_str());
    let list = call(&app, Method::GET, "/agents", &t.viewer, ws, None, &[])
        .await
        .expect(200);
    assert_eq!(list.body["total"], 2);
    let oracle = &list.body["items"][0];
    assert_eq!(
        (oracle["id"].as_str(), oracle["global"].as_bool()),
        (Some("oracle"), Some(true))
    );
    assert!(oracle["workspaceId"].is_null());
    assert_eq!(oracle["model"]["temperature"], 0.7);
    let got = call(
        &app,
        Method::GET,
        "/agents/oracle",
        &t.member,
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(got.body["global"], true);
    assert!(got.header("etag").is_some());
    for (method, path, body) in [
        (
            Method::PUT,
            "/agents/oracle",
            Some(global("oracle", "Mine")),
        ),
        (Method::DELETE, "/agents/oracle", None),
        (Method::POST, "/agents/oracle/versions/1/rollback", None),
        (
            Method::PATCH,
            "/agents/oracle/versions/1",
            Some(json!({"label": "x"})),
        ),
        (
            Method::PUT,
            "/memory-profiles/agents/oracle/memory-profile",
            Some(json!({"profileId": null})),
        ),
    ] {
        call(&app, method, path, owner, ws, body, &[])
            .await
            .expect_error(403, "FORBIDDEN");
    }
    let versions = call(
        &app,
        Method::GET,
        "/agents/oracle/versions",
        owner,
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(versions.body["total"], 1);
    let v1 = call(
        &app,
        Method::GET,
        "/agents/oracle/versions/1",
        owner,
        ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(v1.body["config"]["displayName"], "Oracle");
    assert!(v1.body["createdBy"].is_null());
    // A workspace agent with the same id shadows the global one, in that workspace only.
    let mut own = agent("oracle");
    own["displayName"] = json!("Our Oracle");
    call(&app, Method::POST, "/agents", owner, ws, Some(own), &[])
        .await
        .expect(201);
    let list = call(&app, Method::GET, "/agents", owner, ws, None, &[])
        .await
        .expect(200);
    assert_eq!(list.body["total"], 2);
    assert_eq!(
        (
            list.body["items"][0]["displayName"].as_str(),
            list.body["items"][0]["global"].as_bool()
        ),
        (Some("Our Oracle"), Some(false))
    );
    let (other, _, _) = app.register("glob-other@example.com").await;
    let other_ws = app.workspace(&other, "Other").await;
    let theirs = call(
        &app,
        Method::GET,
        "/agents/oracle",
        &other,
        &other_ws,
        None,
        &[],
    )
    .await
    .expect(200);
    assert_eq!(
        (
            theirs.body["displayName"].as_str(),
            theirs.body["global"].as_bool()
        ),
        (Some("Oracle"), Some(true))
    );
    call(&app, Method::DELETE, "/agents/oracle", owner, ws, None, &[])
        .await
        .expect(204);
    let back = call(&app, Method::GET, "/agents/oracle", owner, ws, None, &[])
        .await
        .expect(200);
    assert_eq!(back.body["global"], true);
}

#[tokio::test]
async fn a_bad_global_agent_stops_start_up_naming_agent_and_field() {
    let db = crate::helpers::TestDb::new().await;
    let mut config = crate::helpers::test_config(&db);
    let mut bad = global("broken", "Broken");
    bad["session"] = json!({"dailyResetHour": 24});
    config.file.agents = vec![global("fine", "Fine"), bad];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = astra::run(config, listener, std::future::pending())
        .await
        .expect_err("start-up must fail");
    let text = format!("{err:#}");
    assert!(
        text.contains("broken") && text.contains("session.dailyResetHour"),
        "{text}"
    );
}
