//! Memory profiles: CRUD with defaults, every range, assignment to agents, 409/force, roles
//! and isolation.

use reqwest::Method;
use serde_json::{Value, json};

mod assignment;

use crate::helpers::{TestApp, spawn_app};

pub async fn create(app: &TestApp, token: &str, ws: &str, body: Value) -> Value {
    app.send_ws(Method::POST, "/memory-profiles", token, ws, Some(body))
        .await
        .expect(201)
        .body
}

#[tokio::test]
async fn crud_with_defaults_and_unique_names() {
    let app = spawn_app().await;
    let t = app.team_named("mp-").await;
    let ws = t.ws.as_str();
    let p = create(&app, &t.admin.token, ws, json!({"name": "Short term"})).await;
    let id = p["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("mp_"));
    assert_eq!(p["workspaceId"], ws);
    assert_eq!(
        p["tiersEnabled"],
        json!({"session": true, "daily": true, "profile": true, "notes": true})
    );
    assert!(p["ttlDays"].is_null());
    assert_eq!(
        (
            p["maxContextChunks"].as_i64(),
            p["minRelevanceScore"].as_f64()
        ),
        (Some(20), Some(0.0))
    );
    assert_eq!(
        (p["description"].as_str(), p["systemPromptSuffix"].as_str()),
        (Some(""), Some(""))
    );
    app.send_ws(
        Method::POST,
        "/memory-profiles",
        &t.owner.token,
        ws,
        Some(json!({"name": "Short term"})),
    )
    .await
    .expect_error(409, "CONFLICT");
    create(&app, &t.owner.token, ws, json!({"name": "Second"})).await;
    let path = format!("/memory-profiles/{id}");
    let got = app.get_in(&path, &t.viewer.token, ws).await.expect(200);
    assert_eq!(got.body, p);
    let mut edited = got.body.clone();
    edited["description"] = json!("Recent things only");
    edited["tiersEnabled"] = json!({"daily": false, "notes": false});
    edited["ttlDays"] = json!(30);
    edited["maxContextChunks"] = json!(5);
    edited["minRelevanceScore"] = json!(0.25);
    edited["systemPromptSuffix"] = json!("Prefer recent memories.");
    let put = app
        .send_ws(Method::PUT, &path, &t.owner.token, ws, Some(edited))
        .await
        .expect(200);
    let b = &put.body;
    assert_eq!(
        b["tiersEnabled"],
        json!({"session": true, "daily": false, "profile": true, "notes": false})
    );
    assert_eq!(
        (
            b["ttlDays"].as_i64(),
            b["maxContextChunks"].as_i64(),
            b["minRelevanceScore"].as_f64()
        ),
        (Some(30), Some(5), Some(0.25))
    );
    assert_eq!(b["createdAt"], p["createdAt"]);
    app.send_ws(
        Method::PUT,
        &path,
        &t.owner.token,
        ws,
        Some(json!({"name": "Second"})),
    )
    .await
    .expect_error(409, "CONFLICT");
    let list = app
        .get_in("/memory-profiles?limit=1", &t.member.token, ws)
        .await
        .expect(200);
    assert_eq!(
        (
            list.body["total"].as_i64(),
            list.body["limit"].as_i64(),
            list.body["offset"].as_i64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    for token in [&t.member.token, &t.viewer.token] {
        app.send_ws(
            Method::POST,
            "/memory-profiles",
            token,
            ws,
            Some(json!({"name": "x"})),
        )
        .await
        .expect_error(403, "FORBIDDEN");
        app.send_ws(Method::PUT, &path, token, ws, Some(json!({"name": "x"})))
            .await
            .expect_error(403, "FORBIDDEN");
        app.send_ws(Method::DELETE, &path, token, ws, None)
            .await
            .expect_error(403, "FORBIDDEN");
    }
    app.send_ws(Method::DELETE, &path, &t.owner.token, ws, None)
        .await
        .expect(204);
    app.get_in(&path, &t.owner.token, ws)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::DELETE, &path, &t.owner.token, ws, None)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(
        Method::PUT,
        &path,
        &t.owner.token,
        ws,
        Some(json!({"name": "x"})),
    )
    .await
    .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn every_range_is_validated() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("mp-range@example.com").await;
    let ws = app.workspace(&token, "Ranges").await;
    let r = app
        .send_ws(
            Method::POST,
            "/memory-profiles",
            &token,
            &ws,
            Some(json!({
                "name": "",
                "description": "d".repeat(1001),
                "ttlDays": 0,
                "maxContextChunks": 101,
                "minRelevanceScore": 1.5,
                "systemPromptSuffix": "s".repeat(10_001),
            })),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    for field in [
        "name",
        "description",
        "ttlDays",
        "maxContextChunks",
        "minRelevanceScore",
        "systemPromptSuffix",
    ] {
        assert!(
            r.body["details"][field].is_string(),
            "missing {field}: {}",
            r.text
        );
    }
    for (field, bad) in [
        ("ttlDays", json!(3651)),
        ("maxContextChunks", json!(0)),
        ("minRelevanceScore", json!(-0.1)),
        ("tiersEnabled", json!({"session": "yes"})),
        ("tiersEnabled", json!({"memory": true})),
    ] {
        let mut body = json!({"name": "n"});
        body[field] = bad;
        let r = app
            .send_ws(Method::POST, "/memory-profiles", &token, &ws, Some(body))
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"].is_object(), "{field}: {}", r.text);
    }
    let edges = [
        json!({"name": "low", "ttlDays": 1, "maxContextChunks": 1, "minRelevanceScore": 0}),
        json!({"name": "high", "ttlDays": 3650, "maxContextChunks": 100, "minRelevanceScore": 1}),
        json!({"name": "never", "ttlDays": null}),
    ];
    for body in edges {
        create(&app, &token, &ws, body).await;
    }
}
