//! Global agents from `astra.yml`: listed everywhere, read-only, shadowed per workspace,
//! and validated at start-up.

use reqwest::Method;
use serde_json::json;

use super::{agent, global};
use crate::helpers::spawn_app_with;

#[tokio::test]
async fn global_agents_are_read_only_and_shadowed_per_workspace() {
    let app = spawn_app_with(|c| {
        c.file.agents = vec![global("oracle", "Oracle"), global("scribe", "Scribe")]
    })
    .await;
    let t = app.team_named("glob-").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.token.as_str());
    let list = app.get_in("/agents", &t.viewer.token, ws).await.expect(200);
    assert_eq!(list.body["total"], 2);
    let oracle = &list.body["items"][0];
    assert_eq!(
        (oracle["id"].as_str(), oracle["global"].as_bool()),
        (Some("oracle"), Some(true))
    );
    assert!(oracle["workspaceId"].is_null());
    assert_eq!(oracle["model"]["temperature"], 0.7);
    let got = app
        .get_in("/agents/oracle", &t.member.token, ws)
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
        app.send_ws(method, path, owner, ws, body)
            .await
            .expect_error(403, "FORBIDDEN");
    }
    let versions = app
        .get_in("/agents/oracle/versions", owner, ws)
        .await
        .expect(200);
    assert_eq!(versions.body["total"], 1);
    let v1 = app
        .get_in("/agents/oracle/versions/1", owner, ws)
        .await
        .expect(200);
    assert_eq!(v1.body["config"]["displayName"], "Oracle");
    assert!(v1.body["createdBy"].is_null());
    // A workspace agent with the same id shadows the global one, in that workspace only.
    let mut own = agent("oracle");
    own["displayName"] = json!("Our Oracle");
    app.send_ws(Method::POST, "/agents", owner, ws, Some(own))
        .await
        .expect(201);
    let list = app.get_in("/agents", owner, ws).await.expect(200);
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
    let theirs = app
        .get_in("/agents/oracle", &other, &other_ws)
        .await
        .expect(200);
    assert_eq!(
        (
            theirs.body["displayName"].as_str(),
            theirs.body["global"].as_bool()
        ),
        (Some("Oracle"), Some(true))
    );
    app.send_ws(Method::DELETE, "/agents/oracle", owner, ws, None)
        .await
        .expect(204);
    let back = app.get_in("/agents/oracle", owner, ws).await.expect(200);
    assert_eq!(back.body["global"], true);
}

#[tokio::test]
async fn a_bad_global_agent_stops_start_up_naming_agent_and_field() {
    let db = crate::helpers::TestDb::new().await;
    let mut config = crate::helpers::test_config(&db);
    let mut bad = global("broken", "Broken");
    bad["session"] = json!({"dailyResetHour": 24});
    config.file.agents = vec![global("fine", "Fine"), bad];
    let text = crate::helpers::startup_error(config).await;
    assert!(
        text.contains("broken") && text.contains("session.dailyResetHour"),
        "{text}"
    );
}
