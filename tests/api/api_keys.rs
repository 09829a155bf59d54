//! `/api-keys`: a key is shown once and stored as a hash, acts as its user within its scopes
//! and workspace, and is refused once revoked or expired.

use crate::helpers::{FakeLlm, TestApp, User, chat_app, names, parse_sse, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Creates a key for `user` with `body`; returns the created answer.
async fn create(app: &TestApp, user: &User, body: Value) -> Value {
    app.post("/api-keys", &user.token, body)
        .await
        .expect(201)
        .body
}

fn key_of(created: &Value) -> String {
    created["key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_key_is_shown_once_and_only_its_hash_is_stored() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let created = create(&app, &user, json!({"name": "ci"})).await;
    let key = key_of(&created);
    assert!(key.starts_with("ak_") && key.len() == 3 + 43, "{key}");
    assert_eq!(created["prefix"], key[..12]);
    assert_eq!(created["scopes"], json!(["chat", "read"]));
    assert!(created["workspaceId"].is_null() && created["lastUsedAt"].is_null());

    let list = app.get("/api-keys", &user.token).await.expect(200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], created["id"]);
    assert!(list.body["items"][0].get("key").is_none());
    assert!(!list.text.contains(&key));

    let store = app.store().await;
    let (rows, _) = store.api_keys().list(&user.id, 10, 0).await.unwrap();
    assert_ne!(rows[0].key_hash, key);
    assert_eq!(
        rows[0].key_hash,
        hex::encode(Sha256::digest(key.as_bytes()))
    );
    let audit = store.admin().audit_entries(&user.id, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "api_key.create"));
}

#[tokio::test]
async fn a_key_reads_and_chats_as_its_user() {
    let fake = FakeLlm::saying("Hello there").await;
    let c = chat_app(&fake).await;
    let key = key_of(&create(&c.app, &c.user, json!({"name": "sdk"})).await);
    c.app.get_in("/agents", &key, &c.ws).await.expect(200);
    let auth = format!("Bearer {key}");
    let headers = [
        ("authorization", auth.as_str()),
        ("x-workspace-id", c.ws.as_str()),
    ];
    let r = c
        .app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "Hi"})),
            &headers,
        )
        .await
        .expect(200);
    assert_eq!(r.body["content"], "Hello there");
    // The use is recorded in the background.
    for _ in 0..100 {
        let list = c.app.get("/api-keys", &c.token).await.expect(200);
        if !list.body["items"][0]["lastUsedAt"].is_null() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("lastUsedAt never set");
}

#[tokio::test]
async fn scopes_limit_what_a_key_may_call() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let read = key_of(&create(&c.app, &c.user, json!({"name": "r", "scopes": ["read"]})).await);
    let chat = key_of(&create(&c.app, &c.user, json!({"name": "c", "scopes": ["chat"]})).await);
    c.app
        .chat_in(&read, &c.ws, json!({"message": "Hi"}))
        .await
        .expect_error(403, "FORBIDDEN");
    c.app
        .chat_in(&chat, &c.ws, json!({"message": "Hi"}))
        .await
        .expect(200);
    c.app
        .get_in("/agents", &chat, &c.ws)
        .await
        .expect_error(403, "FORBIDDEN");
    c.app.get_in("/agents", &read, &c.ws).await.expect(200);
    // Writes outside the chat routes are refused whatever the scopes.
    let both = key_of(&create(&c.app, &c.user, json!({"name": "b"})).await);
    c.app
        .post("/workspaces", &both, json!({"name": "X"}))
        .await
        .expect_error(403, "FORBIDDEN");
    c.app
        .post(
            "/api-keys",
            &c.token,
            json!({"name": "x", "scopes": ["admin"]}),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn a_bound_key_acts_in_its_workspace_only() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let other_ws = app.workspace(&user.token, "Other").await;
    let body = json!({"name": "bound", "workspaceId": user.ws});
    let created = create(&app, &user, body).await;
    assert_eq!(created["workspaceId"], json!(user.ws));
    let key = key_of(&created);
    app.get_in("/agents", &key, &user.ws).await.expect(200);
    app.get("/agents", &key).await.expect(200);
    app.get_in("/agents", &key, &other_ws)
        .await
        .expect_error(403, "FORBIDDEN");
    // A workspace the caller does not belong to cannot be bound.
    let stranger = app.user_with_workspace().await;
    app.post(
        "/api-keys",
        &user.token,
        json!({"name": "x", "workspaceId": stranger.ws}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_keys_cannot_manage_keys() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let created = create(&app, &user, json!({"name": "ci"})).await;
    let (id, key) = (
        created["id"].as_str().unwrap().to_string(),
        key_of(&created),
    );
    app.get("/agents", &key).await.expect(200);
    // The key itself may list keys but never create or delete one.
    app.get("/api-keys", &key).await.expect(200);
    app.post("/api-keys", &key, json!({"name": "more"}))
        .await
        .expect_error(403, "FORBIDDEN");
    app.delete(&format!("/api-keys/{id}"), &key)
        .await
        .expect_error(403, "FORBIDDEN");
    // Someone else cannot revoke it.
    let outsider = app.user_with_workspace().await;
    app.delete(&format!("/api-keys/{id}"), &outsider.token)
        .await
        .expect_error(404, "NOT_FOUND");
    app.get("/agents", &key).await.expect(200);

    app.delete(&format!("/api-keys/{id}"), &user.token)
        .await
        .expect(204);
    app.get("/agents", &key)
        .await
        .expect_error(401, "UNAUTHORIZED");
    let audit = app
        .store()
        .await
        .admin()
        .audit_entries(&user.id, 10)
        .await
        .unwrap();
    assert!(audit.iter().any(|a| a.action == "api_key.revoke"));
    app.get("/agents", "ak_not-a-key")
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn an_expired_key_is_refused() {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    app.post(
        "/api-keys",
        &user.token,
        json!({"name": "old", "expiresAt": past}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let key = key_of(&create(&app, &user, json!({"name": "brief", "expiresAt": soon})).await);
    app.get("/agents", &key).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    app.get("/agents", &key)
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_chat_key_streams_but_never_reaches_admin_routes() {
    let fake = FakeLlm::saying("streamed").await;
    let c = chat_app(&fake).await;
    let key = key_of(&create(&c.app, &c.user, json!({"name": "sdk"})).await);
    let res = c
        .app
        .client
        .post(c.app.url("/agent/chat/stream"))
        .bearer_auth(&key)
        .header("x-workspace-id", &c.ws)
        .json(&json!({"message": "Hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let events = parse_sse(&res.text().await.unwrap());
    assert!(names(&events).contains(&"done"), "{events:?}");
    c.app
        .get("/admin/health", &key)
        .await
        .expect_error(401, "UNAUTHORIZED");
}
