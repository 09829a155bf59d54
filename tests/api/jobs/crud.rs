//! Enqueuing, listing and reading jobs; validation; workspace isolation and roles.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_job_is_enqueued_with_defaults_and_listed() {
    let app = spawn_app().await;
    let (token, uid, _) = app.register("jobs@example.com").await;
    let ws = app.workspace(&token, "Jobs").await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let r = app
        .send_ws(
            Method::POST,
            "/jobs",
            &token,
            &ws,
            Some(json!({"type": "noop", "runAt": later})),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("job_"));
    assert_eq!(r.body["type"], "noop");
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["maxRetries"], 3);
    assert_eq!(r.body["timeoutSeconds"], 300);
    assert_eq!(r.body["attempts"], 0);
    assert_eq!(r.body["payload"], json!({}));
    assert_eq!(r.body["userId"], uid.as_str());
    assert_eq!(r.body["workspaceId"], ws.as_str());
    let r = app
        .get_in(&format!("/jobs/{id}"), &token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["id"], id.as_str());
    app.send_ws(
        Method::POST,
        "/jobs",
        &token,
        &ws,
        Some(json!({"type": "noop", "maxRetries": 0, "timeoutSeconds": 3600, "runAt": later})),
    )
    .await
    .expect(201);
    let r = app
        .get_in("/jobs?status=pending&limit=1", &token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["limit"], 1);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .get_in("/jobs?status=completed", &token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
    app.get_in("/jobs?status=bogus", &token, &ws)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn bad_jobs_are_refused() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("jobs-v@example.com").await;
    let ws = app.workspace(&token, "V").await;
    for (body, field) in [
        (json!({"type": "launch_rockets"}), "type"),
        (json!({"payload": {}}), "type"),
        (json!({"type": "noop", "maxRetries": 11}), "maxRetries"),
        (json!({"type": "noop", "maxRetries": -1}), "maxRetries"),
        (
            json!({"type": "noop", "timeoutSeconds": 0}),
            "timeoutSeconds",
        ),
        (
            json!({"type": "noop", "timeoutSeconds": 3601}),
            "timeoutSeconds",
        ),
        (json!({"type": "noop", "payload": [1]}), "payload"),
        (json!({"type": "noop", "runAt": "tomorrow"}), "runAt"),
        (
            json!({"type": "http_request", "payload": {"method": "GET", "url": "ftp://x.io/"}}),
            "payload.url",
        ),
        (
            json!({"type": "http_request", "payload": {"method": "BREW", "url": "https://x.io/"}}),
            "payload.method",
        ),
        (
            json!({"type": "http_request", "payload": {"url": "https://x.io/"}}),
            "payload.method",
        ),
        (
            json!({"type": "agent_run", "payload": {"agentId": "chad"}}),
            "payload.message",
        ),
        (
            json!({"type": "agent_run", "payload": {"agentId": "chad", "message": ""}}),
            "payload.message",
        ),
        (
            json!({"type": "webhook_emit", "payload": {"event": "nope", "data": {}}}),
            "payload.event",
        ),
    ] {
        let r = app
            .send_ws(Method::POST, "/jobs", &token, &ws, Some(body.clone()))
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{body}: {}", r.text);
    }
}

#[tokio::test]
async fn jobs_stay_inside_their_workspace() {
    let app = spawn_app().await;
    let (alice, _, _) = app.register("alice-jobs@example.com").await;
    let (bob, _, _) = app.register("bob-jobs@example.com").await;
    let ws_a = app.workspace(&alice, "A").await;
    let ws_b = app.workspace(&bob, "B").await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let id = app
        .send_ws(
            Method::POST,
            "/jobs",
            &alice,
            &ws_a,
            Some(json!({"type": "noop", "runAt": later})),
        )
        .await
        .expect(201)
        .id();
    app.get_in(&format!("/jobs/{id}"), &bob, &ws_b)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::DELETE, &format!("/jobs/{id}"), &bob, &ws_b, None)
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        app.get_in("/jobs", &bob, &ws_b).await.expect(200).body["total"],
        0
    );
    // Bob cannot act in Alice's workspace at all.
    app.get_in("/jobs", &bob, &ws_a)
        .await
        .expect_error(403, "FORBIDDEN");
    // A viewer of Alice's workspace reads but does not enqueue or cancel.
    app.post(
        &format!("/workspaces/{ws_a}/members"),
        &alice,
        json!({"email": "bob-jobs@example.com", "role": "viewer"}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.get_in("/jobs", &bob, &ws_a).await.expect(200).body["total"],
        1
    );
    app.send_ws(
        Method::POST,
        "/jobs",
        &bob,
        &ws_a,
        Some(json!({"type": "noop"})),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.send_ws(Method::DELETE, &format!("/jobs/{id}"), &bob, &ws_a, None)
        .await
        .expect_error(403, "FORBIDDEN");
    let r = app
        .send_ws(Method::DELETE, &format!("/jobs/{id}"), &alice, &ws_a, None)
        .await
        .expect(200);
    assert_eq!(r.body["status"], "cancelled");
    assert!(r.body["finishedAt"].is_string());
    app.send_ws(Method::DELETE, &format!("/jobs/{id}"), &alice, &ws_a, None)
        .await
        .expect_error(409, "CONFLICT");
}
