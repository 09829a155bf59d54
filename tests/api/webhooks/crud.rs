//! Registering, reading, changing and deleting webhooks; validation; isolation per user and
//! workspace.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_webhook_is_created_read_changed_and_deleted() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("hooks@example.com").await;
    let r = app
        .post(
            "/webhooks",
            &token,
            json!({"url": "https://example.com/hook", "events": ["chat.completed", "job.failed", "chat.completed"], "description": "mine"}),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_"));
    assert!(r.body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(r.body["events"], json!(["chat.completed", "job.failed"]));
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["description"], "mine");
    assert!(r.body["workspaceId"].is_null());

    let r = app.get("/webhooks", &token).await.expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["id"], id.as_str());
    assert!(r.body["items"][0].get("secret").is_none(), "{}", r.text);
    let r = app
        .get(&format!("/webhooks/{id}"), &token)
        .await
        .expect(200);
    assert!(r.body.get("secret").is_none());
    assert_eq!(r.body["url"], "https://example.com/hook");

    let r = app
        .put(
            &format!("/webhooks/{id}"),
            &token,
            json!({"events": ["*"], "active": false, "url": "https://example.org/x"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["events"], json!(["*"]));
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["url"], "https://example.org/x");
    assert_eq!(r.body["description"], "mine");
    assert!(r.body.get("secret").is_none());

    let r = app
        .get(&format!("/webhooks/{id}/deliveries"), &token)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
    assert_eq!(r.body["limit"], 20);

    app.delete(&format!("/webhooks/{id}"), &token)
        .await
        .expect(204);
    app.get(&format!("/webhooks/{id}"), &token)
        .await
        .expect_error(404, "NOT_FOUND");
    app.delete(&format!("/webhooks/{id}"), &token)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_urls_and_unknown_events_are_refused() {
    let app = spawn_app_with(|c| c.allow_private_urls = false).await;
    let (token, _, _) = app.register("hooks-v@example.com").await;
    for (body, field) in [
        (
            json!({"url": "https://example.com/h", "events": ["chat.exploded"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/h", "events": []}),
            "events",
        ),
        (
            json!({"url": "ftp://example.com/h", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/h", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "events": ["*"]}),
            "url",
        ),
        (json!({"url": "not a url", "events": ["*"]}), "url"),
        (json!({"events": ["*"]}), "url"),
        (
            json!({"url": "https://example.com/h", "events": ["*"], "description": "x".repeat(501)}),
            "description",
        ),
    ] {
        let r = app
            .post("/webhooks", &token, body.clone())
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{body}: {}", r.text);
    }
    let id = app
        .post(
            "/webhooks",
            &token,
            json!({"url": "https://example.com/h", "events": ["*"]}),
        )
        .await
        .expect(201)
        .id();
    app.put(
        &format!("/webhooks/{id}"),
        &token,
        json!({"events": ["nope"]}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.put(
        &format!("/webhooks/{id}"),
        &token,
        json!({"url": "http://localhost/x"}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.get(&format!("/webhooks/{id}/deliveries?limit=0"), &token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn other_users_see_nothing() {
    let app = spawn_app().await;
    let (alice, _, _) = app.register("alice-wh@example.com").await;
    let (bob, _, _) = app.register("bob-wh@example.com").await;
    let id = app
        .post(
            "/webhooks",
            &alice,
            json!({"url": "https://example.com/a", "events": ["*"]}),
        )
        .await
        .expect(201)
        .id();
    let path = format!("/webhooks/{id}");
    app.get(&path, &bob).await.expect_error(404, "NOT_FOUND");
    app.put(&path, &bob, json!({"active": false}))
        .await
        .expect_error(404, "NOT_FOUND");
    app.delete(&path, &bob).await.expect_error(404, "NOT_FOUND");
    app.get(&format!("{path}/deliveries"), &bob)
        .await
        .expect_error(404, "NOT_FOUND");
    app.post(&format!("{path}/test"), &bob, json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        app.get("/webhooks", &bob).await.expect(200).body["total"],
        0
    );
    // Alice's webhook is untouched.
    assert_eq!(
        app.get(&path, &alice).await.expect(200).body["active"],
        true
    );
}

#[tokio::test]
async fn the_workspace_header_scopes_webhooks() {
    let app = spawn_app().await;
    let (alice, _, _) = app.register("alice-ws-wh@example.com").await;
    let (bob, _, _) = app.register("bob-ws-wh@example.com").await;
    let ws_a = app.workspace(&alice, "A").await;
    let ws_b = app.workspace(&bob, "B").await;
    let body = json!({"url": "https://example.com/a", "events": ["*"]});
    let r = app
        .send_ws(Method::POST, "/webhooks", &alice, &ws_a, Some(body.clone()))
        .await
        .expect(201);
    assert_eq!(r.body["workspaceId"], ws_a.as_str());
    app.post("/webhooks", &alice, body.clone())
        .await
        .expect(201);
    // Not a member of Bob's workspace.
    app.send_ws(Method::POST, "/webhooks", &alice, &ws_b, Some(body.clone()))
        .await
        .expect_error(403, "FORBIDDEN");
    let auth = format!("Bearer {alice}");
    let r = app
        .send(
            Method::GET,
            "/webhooks",
            None,
            &[("authorization", &auth), ("x-workspace-id", &ws_a)],
        )
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["workspaceId"], ws_a.as_str());
    assert_eq!(
        app.get("/webhooks", &alice).await.expect(200).body["total"],
        2
    );
}
