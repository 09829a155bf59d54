//! Assigning profiles to agents (versioned), 409/force on delete, and isolation.

use reqwest::Method;
use serde_json::json;

use super::create;
use crate::agents::{agent, global};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn assignment_versions_the_agent_and_delete_needs_force() {
    let app = spawn_app_with(|c| c.file.agents = vec![global("oracle", "Oracle")]).await;
    let t = app.team_named("assign-").await;
    let (ws, owner) = (t.ws.as_str(), t.owner.token.as_str());
    app.send_ws(Method::POST, "/agents", owner, ws, Some(agent("bot")))
        .await
        .expect(201);
    let profile = create(
        &app,
        owner,
        ws,
        json!({"name": "Focused", "maxContextChunks": 8}),
    )
    .await;
    let pid = profile["id"].as_str().unwrap();
    let path = "/memory-profiles/agents/bot/memory-profile";
    let empty = app.get_in(path, &t.viewer.token, ws).await.expect(200);
    assert_eq!(
        empty.body,
        json!({"agentId": "bot", "profileId": null, "profile": null})
    );
    for token in [&t.member.token, &t.viewer.token] {
        app.send_ws(
            Method::PUT,
            path,
            token,
            ws,
            Some(json!({"profileId": pid})),
        )
        .await
        .expect_error(403, "FORBIDDEN");
    }
    let r = app
        .send_ws(
            Method::PUT,
            path,
            &t.admin.token,
            ws,
            Some(json!({"profileId": pid})),
        )
        .await
        .expect(200);
    assert_eq!(
        (
            r.body["profileId"].as_str(),
            r.body["profile"]["maxContextChunks"].as_i64()
        ),
        (Some(pid), Some(8))
    );
    let got = app.get_in(path, &t.member.token, ws).await.expect(200);
    assert_eq!(got.body, r.body);
    let bot = app.get_in("/agents/bot", owner, ws).await.expect(200);
    assert_eq!(
        (
            bot.body["memoryProfileId"].as_str(),
            bot.body["version"].as_i64()
        ),
        (Some(pid), Some(2))
    );
    // Assigning the same profile again records no new version.
    app.send_ws(
        Method::PUT,
        path,
        owner,
        ws,
        Some(json!({"profileId": pid})),
    )
    .await
    .expect(200);
    let bot = app.get_in("/agents/bot", owner, ws).await.expect(200);
    assert_eq!(bot.body["version"], 2);
    let profile_path = format!("/memory-profiles/{pid}");
    let r = app
        .send_ws(Method::DELETE, &profile_path, owner, ws, None)
        .await
        .expect_error(409, "CONFLICT");
    assert!(
        r.body["message"].as_str().unwrap().contains("bot"),
        "{}",
        r.text
    );
    app.send_ws(
        Method::DELETE,
        &format!("{profile_path}?force=true"),
        owner,
        ws,
        None,
    )
    .await
    .expect(204);
    let bot = app.get_in("/agents/bot", owner, ws).await.expect(200);
    assert!(bot.body["memoryProfileId"].is_null());
    assert_eq!(bot.body["version"], 3);
    let cleared = app.get_in(path, owner, ws).await.expect(200);
    assert!(cleared.body["profileId"].is_null());
    // Rolling back to the version that used the deleted profile drops the assignment.
    let rolled = app
        .send_ws(
            Method::POST,
            "/agents/bot/versions/2/rollback",
            owner,
            ws,
            None,
        )
        .await
        .expect(200);
    assert!(rolled.body["memoryProfileId"].is_null());
    // Assign then clear with null; unknown profiles, unknown and global agents.
    let other = create(&app, owner, ws, json!({"name": "Other"})).await;
    let oid = other["id"].as_str().unwrap();
    app.send_ws(
        Method::PUT,
        path,
        owner,
        ws,
        Some(json!({"profileId": oid})),
    )
    .await
    .expect(200);
    let r = app
        .send_ws(
            Method::PUT,
            path,
            owner,
            ws,
            Some(json!({"profileId": null})),
        )
        .await
        .expect(200);
    assert!(r.body["profile"].is_null());
    app.send_ws(
        Method::DELETE,
        &format!("/memory-profiles/{oid}"),
        owner,
        ws,
        None,
    )
    .await
    .expect(204);
    let r = app
        .send_ws(
            Method::PUT,
            path,
            owner,
            ws,
            Some(json!({"profileId": "mp_missing"})),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["profileId"].is_string());
    app.send_ws(
        Method::PUT,
        "/memory-profiles/agents/ghost/memory-profile",
        owner,
        ws,
        Some(json!({"profileId": null})),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.get_in("/memory-profiles/agents/ghost/memory-profile", owner, ws)
        .await
        .expect_error(404, "NOT_FOUND");
    let g = app
        .get_in("/memory-profiles/agents/oracle/memory-profile", owner, ws)
        .await
        .expect(200);
    assert!(g.body["profileId"].is_null());
    // The agent config route accepts the assignment too.
    let third = create(&app, owner, ws, json!({"name": "Third"})).await;
    let mut body = agent("bot");
    body["memoryProfileId"] = third["id"].clone();
    let r = app
        .send_ws(Method::PUT, "/agents/bot", owner, ws, Some(body))
        .await
        .expect(200);
    assert_eq!(r.body["memoryProfileId"], third["id"]);
}

#[tokio::test]
async fn profiles_are_isolated_between_workspaces() {
    let app = spawn_app().await;
    let (a, _, _) = app.register("mp-a@example.com").await;
    let (b, _, _) = app.register("mp-b@example.com").await;
    let ws_a = app.workspace(&a, "A").await;
    let ws_b = app.workspace(&b, "B").await;
    let p = create(&app, &a, &ws_a, json!({"name": "Mine"})).await;
    let pid = p["id"].as_str().unwrap();
    let path = format!("/memory-profiles/{pid}");
    app.get_in(&path, &b, &ws_b)
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::PUT, &path, &b, &ws_b, Some(json!({"name": "x"})))
        .await
        .expect_error(404, "NOT_FOUND");
    app.send_ws(Method::DELETE, &path, &b, &ws_b, None)
        .await
        .expect_error(404, "NOT_FOUND");
    let list = app.get_in("/memory-profiles", &b, &ws_b).await.expect(200);
    assert_eq!(list.body["total"], 0);
    app.send_ws(Method::POST, "/agents", &b, &ws_b, Some(agent("bee")))
        .await
        .expect(201);
    app.send_ws(
        Method::PUT,
        "/memory-profiles/agents/bee/memory-profile",
        &b,
        &ws_b,
        Some(json!({"profileId": pid})),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    // The same name is free in another workspace.
    create(&app, &b, &ws_b, json!({"name": "Mine"})).await;
}
