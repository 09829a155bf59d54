//! Agent versions: history newest first, one version, rollback as a new version, labels.

use reqwest::Method;
use serde_json::json;

use super::agent;
use crate::helpers::spawn_app;

#[tokio::test]
async fn versions_rollback_and_labels() {
    let app = spawn_app().await;
    let t = app.team_named("ver-").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.token.as_str());
    app.send_ws(Method::POST, "/agents", owner, ws, Some(agent("v")))
        .await
        .expect(201);
    let mut second = agent("v");
    second["displayName"] = json!("Second");
    second["maxToolRounds"] = json!(9);
    app.send_ws(Method::PUT, "/agents/v", owner, ws, Some(second))
        .await
        .expect(200);
    let list = app
        .get_in("/agents/v/versions", t.viewer.token.as_str(), ws)
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
    let v1 = app
        .get_in("/agents/v/versions/1", t.member.token.as_str(), ws)
        .await
        .expect(200);
    assert_eq!(v1.body["config"]["displayName"], "Agent v");
    assert_eq!(v1.body["config"]["maxToolRounds"], 5);
    let rolled = app
        .send_ws(
            Method::POST,
            "/agents/v/versions/1/rollback",
            t.admin.token.as_str(),
            ws,
            None,
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
    let live = app.get_in("/agents/v", owner, ws).await.expect(200);
    assert_eq!(
        (
            live.body["version"].as_i64(),
            live.body["maxToolRounds"].as_i64()
        ),
        (Some(3), Some(5))
    );
    let v3 = app
        .get_in("/agents/v/versions/3", owner, ws)
        .await
        .expect(200);
    assert_eq!(v3.body["config"]["displayName"], "Agent v");
    let labelled = app
        .send_ws(
            Method::PATCH,
            "/agents/v/versions/1",
            owner,
            ws,
            Some(json!({"label": "baseline"})),
        )
        .await
        .expect(200);
    assert_eq!(labelled.body["label"], "baseline");
    let list = app
        .get_in("/agents/v/versions?limit=1&offset=2", owner, ws)
        .await
        .expect(200);
    assert_eq!(
        (
            list.body["items"][0]["version"].as_i64(),
            list.body["items"][0]["label"].as_str()
        ),
        (Some(1), Some("baseline"))
    );
    let cleared = app
        .send_ws(
            Method::PATCH,
            "/agents/v/versions/1",
            owner,
            ws,
            Some(json!({"label": null})),
        )
        .await
        .expect(200);
    assert!(cleared.body["label"].is_null());
    let long = "x".repeat(101);
    app.send_ws(
        Method::PATCH,
        "/agents/v/versions/1",
        owner,
        ws,
        Some(json!({"label": long})),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    for (method, path) in [
        (Method::GET, "/agents/v/versions/99"),
        (Method::POST, "/agents/v/versions/99/rollback"),
        (Method::GET, "/agents/nobody/versions"),
        (Method::GET, "/agents/nobody/versions/1"),
    ] {
        app.send_ws(method, path, owner, ws, None)
            .await
            .expect_error(404, "NOT_FOUND");
    }
    app.send_ws(
        Method::PATCH,
        "/agents/v/versions/99",
        owner,
        ws,
        Some(json!({"label": "x"})),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.get_in("/agents/v/versions/latest", owner, ws)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}
