//! /admin/*: internal-key routes for process health, agents, billing, sessions and audit.

use crate::helpers::{FakeLlm, User, chat_app};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TEST_INTERNAL_KEY, spawn_app, spawn_app_with};

/// Every internal-key route.
const INTERNAL: [(&str, &str); 11] = [
    ("GET", "/admin/health"),
    ("GET", "/admin/agents"),
    ("GET", "/admin/usage/usr_x"),
    ("GET", "/admin/sessions/usr_x"),
    ("GET", "/admin/audit/usr_x"),
    ("GET", "/diagnostics"),
    ("GET", "/diagnostics/quick"),
    ("GET", "/diagnostics/history"),
    ("GET", "/diagnostics/circuit-breakers"),
    ("POST", "/autonomous/run"),
    ("POST", "/autonomous/batch"),
];

#[tokio::test]
async fn internal_routes_refuse_missing_wrong_and_bearer_credentials() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("admin-cred@example.com").await;
    let bearer = format!("Bearer {token}");
    let wrong = format!("{TEST_INTERNAL_KEY}x");
    for (method, path) in INTERNAL {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (m == Method::POST)
            .then(|| json!({"uid": "usr_x", "uids": ["usr_x"], "taskMessage": "hi"}));
        for headers in [
            vec![],
            vec![("x-api-key", wrong.as_str())],
            vec![("x-api-key", "")],
            vec![("authorization", bearer.as_str())],
        ] {
            app.send(m.clone(), path, body.clone(), &headers)
                .await
                .expect_error(401, "UNAUTHORIZED");
        }
    }
    // Without a configured key, even the right-looking key is refused.
    let keyless = spawn_app_with(|c| c.internal_api_key = None).await;
    keyless
        .send(
            Method::GET,
            "/admin/health",
            None,
            &[("x-api-key", TEST_INTERNAL_KEY)],
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn health_reports_process_database_and_registries() {
    let app = spawn_app().await;
    let r = app.key_get("/admin/health").await.expect(200);
    assert_eq!(r.body["status"], "ok");
    assert!(r.body["uptimeSeconds"].is_number());
    if cfg!(target_os = "linux") {
        let rss = r.body["memory"]["rssBytes"].as_u64().unwrap();
        let peak = r.body["memory"]["peakRssBytes"].as_u64().unwrap();
        assert!(rss > 1024 * 1024 && peak >= rss, "{}", r.text);
    }
    assert_eq!(
        (
            r.body["activeSessions"].as_i64(),
            r.body["busyAgents"].as_i64()
        ),
        (Some(0), Some(0))
    );
    assert!(r.body["tools"].as_u64().unwrap() > 0 && r.body["skills"].as_u64().unwrap() > 0);
    assert_eq!(r.body["database"]["ok"], true);
    assert!(
        r.body["database"]["engine"].is_string() && r.body["database"]["latencyMs"].is_number()
    );
    // The memory embedding queue (issue #18): a number, and a lag.
    assert!(
        r.body["memoryIndex"]["backlog"].as_i64().unwrap() >= 0,
        "{}",
        r.text
    );
    assert!(r.body["memoryIndex"]["lagSeconds"].as_i64().unwrap() >= 0);
}

#[tokio::test]
async fn agents_lists_global_then_every_workspaces_agents() {
    let global = json!({"id": "oracle", "displayName": "Oracle", "model": {"provider": "claude", "modelId": "claude-x"}, "skills": ["utilities"]});
    let app = spawn_app_with(|c| c.file.agents = vec![global]).await;
    let User { ws: ws_a, .. } = app.onboarded_user("admin-agents-a@example.com").await;
    let User { ws: ws_b, .. } = app.onboarded_user("admin-agents-b@example.com").await;
    let r = app.key_get("/admin/agents?limit=100").await.expect(200);
    // One global agent plus two starter agents in each workspace.
    assert_eq!(r.body["total"], 5, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(
        (items[0]["id"].as_str(), items[0]["global"].as_bool()),
        (Some("oracle"), Some(true))
    );
    assert!(items[0]["workspaceId"].is_null());
    let owners: Vec<&str> = items[1..]
        .iter()
        .map(|a| a["workspaceId"].as_str().unwrap())
        .collect();
    assert_eq!(owners.iter().filter(|w| **w == ws_a).count(), 2);
    assert_eq!(owners.iter().filter(|w| **w == ws_b).count(), 2);
    assert!(items[1]["model"]["provider"].is_string() && items[1]["version"] == 1);
    // Pages cross the global/workspace boundary without gaps or repeats.
    let mut seen = Vec::new();
    for offset in 0..5 {
        let p = app
            .key_get(&format!("/admin/agents?limit=1&offset={offset}"))
            .await
            .expect(200);
        let a = &p.body["items"][0];
        seen.push(format!("{}/{}", a["workspaceId"], a["id"]));
    }
    let all: Vec<String> = items
        .iter()
        .map(|a| format!("{}/{}", a["workspaceId"], a["id"]))
        .collect();
    assert_eq!(seen, all);
    let past = app.key_get("/admin/agents?offset=10").await.expect(200);
    assert_eq!(
        (
            past.body["items"].as_array().unwrap().len(),
            past.body["total"].as_i64()
        ),
        (0, Some(5))
    );
    app.key_get("/admin/agents?limit=0")
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn usage_and_sessions_of_a_user_follow_their_chats() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let uid = c.user.id.clone();
    let r = c
        .app
        .key_get(&format!("/admin/usage/{uid}"))
        .await
        .expect(200);
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert_eq!(
        r.body["months"][0],
        json!({"month": month, "tokens": 0, "promptTokens": 0, "completionTokens": 0, "totalTokens": 0, "costUsd": 0.0, "requests": 0})
    );
    c.chat(json!({"message": "one"})).await.expect(200);
    c.chat(json!({"message": "two", "surfaceId": "side"}))
        .await
        .expect(200);
    let r = c
        .app
        .key_get(&format!("/admin/usage/{uid}"))
        .await
        .expect(200);
    assert_eq!(
        (
            r.body["uid"].as_str(),
            r.body["monthlyTokenBudget"].as_u64()
        ),
        (Some(uid.as_str()), Some(2_000_000))
    );
    assert!(r.body["email"].as_str().unwrap().contains('@'));
    let current: &Value = &r.body["months"][0];
    assert_eq!(current["month"], month.as_str());
    assert_eq!(
        (
            current["tokens"].as_i64(),
            current["totalTokens"].as_i64(),
            current["requests"].as_i64()
        ),
        (Some(30), Some(30), Some(2))
    );
    assert!(current["costUsd"].as_f64().unwrap() > 0.0);

    let s = c
        .app
        .key_get(&format!("/admin/sessions/{uid}"))
        .await
        .expect(200);
    assert_eq!(
        (s.body["uid"].as_str(), s.body["total"].as_i64()),
        (Some(uid.as_str()), Some(2))
    );
    assert_eq!(s.body["items"][0]["surfaceId"], "side");
    let auth = format!("Bearer {}", c.token);
    c.app
        .send(
            Method::POST,
            "/agent/reset",
            Some(json!({"surfaceId": "side"})),
            &[("authorization", &auth)],
        )
        .await
        .expect(200);
    let s = c
        .app
        .key_get(&format!("/admin/sessions/{uid}?limit=1"))
        .await
        .expect(200);
    assert_eq!(
        (
            s.body["total"].as_i64(),
            s.body["items"][0]["surfaceId"].as_str()
        ),
        (Some(1), Some("main"))
    );
    let h = c.app.key_get("/admin/health").await.expect(200);
    assert_eq!(h.body["activeSessions"], 1);

    for path in [
        "/admin/usage/usr_nobody",
        "/admin/sessions/usr_nobody",
        "/admin/audit/usr_nobody",
    ] {
        c.app.key_get(path).await.expect_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn auth_events_are_audited_newest_first() {
    let app = spawn_app().await;
    let (token, uid, refresh) = app.register("audited@example.com").await;
    let login = |password: &'static str| {
        app.send(
            Method::POST,
            "/auth/login",
            Some(json!({"email": "audited@example.com", "password": password})),
            &[],
        )
    };
    login("wrong-password").await.expect(401);
    login("correct-horse").await.expect(200);
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": refresh})),
        &[],
    )
    .await
    .expect(200);
    // Presenting the spent token again is a replay.
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": refresh})),
        &[],
    )
    .await
    .expect(401);
    // The replay also revoked the user's access tokens.
    app.post("/auth/logout", &token, json!({}))
        .await
        .expect(401);
    let token = login("correct-horse").await.expect(200).body["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/auth/logout", &token, json!({}))
        .await
        .expect(200);
    // A failure for an unknown email is filed under nobody.
    app.send(
        Method::POST,
        "/auth/login",
        Some(json!({"email": "ghost@example.com", "password": "whatever1"})),
        &[],
    )
    .await
    .expect(401);

    let r = app
        .key_get(&format!("/admin/audit/{uid}"))
        .await
        .expect(200);
    let actions: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "auth.logout",
            "auth.login",
            "auth.refresh_replay",
            "auth.login",
            "auth.login_failed",
            "auth.register"
        ]
    );
    let register = &r.body["items"][5];
    assert_eq!(register["details"]["email"], "audited@example.com");
    assert!(
        register["id"].as_str().unwrap().starts_with("aud_") && register["createdAt"].is_string()
    );
    assert_eq!(r.body["items"][4]["details"]["reason"], "invalid_password");
    assert!(r.body["items"][2]["target"].is_string());
}
