//! Creating, listing, enabling/disabling and deleting monitors; validation; isolation.

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_monitor_is_created_listed_toggled_and_deleted() {
    let app = spawn_app().await;
    let (token, uid, _) = app.register("hb@example.com").await;
    let ws = app.workspace(&token, "HB").await;
    // Disabled, so the scheduler leaves it alone during this test.
    let r = app
        .send_ws(
            Method::POST,
            "/heartbeat",
            &token,
            &ws,
            Some(json!({
                "name": "Status page", "type": "http", "url": "https://example.com/status",
                "intervalMinutes": 5, "enabled": false, "config": {"timeoutMs": 2000}
            })),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("hb_"));
    assert_eq!(r.body["type"], "http");
    assert_eq!(r.body["intervalMinutes"], 5);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["config"], json!({"timeoutMs": 2000}));
    assert!(r.body["lastStatus"].is_null() && r.body["nextRunAt"].is_string());
    assert_eq!(r.body["createdBy"], uid.as_str());

    let r = app.get_in("/heartbeat", &token, &ws).await.expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["id"], id.as_str());

    let path = format!("/heartbeat/{id}");
    let r = app
        .get_in(&format!("{path}/runs"), &token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
    // Enabling makes it due at once (it may run before it is disabled again).
    let r = app
        .send_ws(
            Method::PATCH,
            &path,
            &token,
            &ws,
            Some(json!({"enabled": true})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["enabled"], true);
    let r = app
        .send_ws(
            Method::PATCH,
            &path,
            &token,
            &ws,
            Some(json!({"enabled": false})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["enabled"], false);
    app.send_ws(
        Method::PATCH,
        &path,
        &token,
        &ws,
        Some(json!({"enabled": "yes"})),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.send_ws(Method::DELETE, &path, &token, &ws, None)
        .await
        .expect(204);
    app.send_ws(Method::DELETE, &path, &token, &ws, None)
        .await
        .expect_error(404, "NOT_FOUND");
    app.get_in(&format!("{path}/runs"), &token, &ws)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_monitors_are_refused() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("hb-v@example.com").await;
    let ws = app.workspace(&token, "V").await;
    let base = json!({"name": "n", "type": "rss", "url": "https://example.com/feed", "intervalMinutes": 60});
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("intervalMinutes", json!(4)), "intervalMinutes"),
        (with("intervalMinutes", json!(10_081)), "intervalMinutes"),
        (with("type", json!("ftp")), "type"),
        (with("url", json!("gopher://example.com")), "url"),
        (with("name", json!("")), "name"),
        (with("config", json!({"timeoutMs": 0})), "config.timeoutMs"),
    ] {
        let r = app
            .send_ws(Method::POST, "/heartbeat", &token, &ws, Some(body.clone()))
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{body}: {}", r.text);
    }
    // The bounds themselves are fine.
    for minutes in [5, 10_080] {
        let body = with("intervalMinutes", json!(minutes));
        let mut body = body;
        body["enabled"] = json!(false);
        app.send_ws(Method::POST, "/heartbeat", &token, &ws, Some(body))
            .await
            .expect(201);
    }
}

#[tokio::test]
async fn monitors_stay_inside_their_workspace() {
    let app = spawn_app().await;
    let (alice, _, _) = app.register("alice-hb@example.com").await;
    let (bob, _, _) = app.register("bob-hb@example.com").await;
    let ws_a = app.workspace(&alice, "A").await;
    let ws_b = app.workspace(&bob, "B").await;
    let id = app.send_ws(Method::POST, "/heartbeat", &alice, &ws_a, Some(json!({
        "name": "a", "type": "http", "url": "https://example.com/", "intervalMinutes": 30, "enabled": false
    })))
    .await
    .expect(201).id();
    let path = format!("/heartbeat/{id}");
    app.send_ws(
        Method::PATCH,
        &path,
        &bob,
        &ws_b,
        Some(json!({"enabled": true})),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::DELETE, &path, &bob, &ws_b, None)
        .await
        .expect_error(404, "NOT_FOUND");
    app.get_in(&format!("{path}/runs"), &bob, &ws_b)
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        app.get_in("/heartbeat", &bob, &ws_b).await.expect(200).body["total"],
        0
    );
    app.get_in("/heartbeat", &bob, &ws_a)
        .await
        .expect_error(403, "FORBIDDEN");
    app.post(
        &format!("/workspaces/{ws_a}/members"),
        &alice,
        json!({"email": "bob-hb@example.com", "role": "viewer"}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.get_in("/heartbeat", &bob, &ws_a).await.expect(200).body["total"],
        1
    );
    app.send_ws(
        Method::PATCH,
        &path,
        &bob,
        &ws_a,
        Some(json!({"enabled": true})),
    )
    .await
    .expect_error(403, "FORBIDDEN");
}
