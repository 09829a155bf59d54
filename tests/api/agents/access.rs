//! Who may do what: roles inside a workspace and isolation between workspaces.

use reqwest::Method;
use serde_json::json;

use super::agent;
use crate::helpers::spawn_app;

#[tokio::test]
async fn viewers_and_members_cannot_write() {
    let app = spawn_app().await;
    let t = app.team_named("roles-").await;
    let ws = t.ws.as_str();
    app.send_ws(
        Method::POST,
        "/agents",
        &t.admin.token,
        ws,
        Some(agent("shared")),
    )
    .await
    .expect(201);
    for token in [&t.member.token, &t.viewer.token] {
        app.send_ws(Method::POST, "/agents", token, ws, Some(agent("mine")))
            .await
            .expect_error(403, "FORBIDDEN");
        app.send_ws(
            Method::PUT,
            "/agents/shared",
            token,
            ws,
            Some(agent("shared")),
        )
        .await
        .expect_error(403, "FORBIDDEN");
        app.send_ws(Method::DELETE, "/agents/shared", token, ws, None)
            .await
            .expect_error(403, "FORBIDDEN");
        app.send_ws(
            Method::POST,
            "/agents/shared/versions/1/rollback",
            token,
            ws,
            None,
        )
        .await
        .expect_error(403, "FORBIDDEN");
        app.send_ws(
            Method::PATCH,
            "/agents/shared/versions/1",
            token,
            ws,
            Some(json!({"label": "x"})),
        )
        .await
        .expect_error(403, "FORBIDDEN");
        app.get_in("/agents", token, ws).await.expect(200);
        app.get_in("/agents/shared", token, ws).await.expect(200);
        app.get_in("/agents/shared/versions", token, ws)
            .await
            .expect(200);
    }
    let r = app
        .get_in("/agents/shared", &t.owner.token, ws)
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
    app.send_ws(Method::POST, "/agents", &a, &ws_a, Some(agent("secret")))
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
        app.send_ws(method, path, &b, &ws_b, body)
            .await
            .expect_error(404, "NOT_FOUND");
    }
    let list = app.get_in("/agents", &b, &ws_b).await.expect(200);
    assert_eq!(list.body["total"], 0);
    // B may create its own agent with the same id; each workspace keeps its own.
    app.send_ws(Method::POST, "/agents", &b, &ws_b, Some(agent("secret")))
        .await
        .expect(201);
    app.send_ws(Method::DELETE, "/agents/secret", &b, &ws_b, None)
        .await
        .expect(204);
    app.get_in("/agents/secret", &a, &ws_a).await.expect(200);
    // Naming A's workspace without being a member is refused outright.
    app.get_in("/agents/secret", &b, &ws_a)
        .await
        .expect_error(403, "FORBIDDEN");
}
