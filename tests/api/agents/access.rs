//! Who may do what: roles inside a workspace and isolation between workspaces.

use reqwest::Method;
use serde_json::json;

use super::{agent, call};
use crate::helpers::spawn_app;

#[tokio::test]
async fn viewers_and_members_cannot_write() {
    let app = spawn_app().await;
    let t = app.team_named("roles-").await;
    let ws = t.ws.as_str();
    call(
        &app,
        Method::POST,
        "/agents",
        &t.admin.token,
        ws,
        Some(agent("shared")),
        &[],
    )
    .await
    .expect(201);
    for token in [&t.member.token, &t.viewer.token] {
        call(
            &app,
            Method::POST,
            "/agents",
            token,
            ws,
            Some(agent("mine")),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::PUT,
            "/agents/shared",
            token,
            ws,
            Some(agent("shared")),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(&app, Method::DELETE, "/agents/shared", token, ws, None, &[])
            .await
            .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::POST,
            "/agents/shared/versions/1/rollback",
            token,
            ws,
            None,
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(
            &app,
            Method::PATCH,
            "/agents/shared/versions/1",
            token,
            ws,
            Some(json!({"label": "x"})),
            &[],
        )
        .await
        .expect_error(403, "FORBIDDEN");
        call(&app, Method::GET, "/agents", token, ws, None, &[])
            .await
            .expect(200);
        call(&app, Method::GET, "/agents/shared", token, ws, None, &[])
            .await
            .expect(200);
        call(
            &app,
            Method::GET,
            "/agents/shared/versions",
            token,
            ws,
            None,
            &[],
        )
        .await
        .expect(200);
    }
    let r = call(
        &app,
        Method::GET,
        "/agents/shared",
        &t.owner.token,
        ws,
        None,
        &[],
    )
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
    call(
        &app,
        Method::POST,
        "/agents",
        &a,
        &ws_a,
        Some(agent("secret")),
        &[],
    )
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
        call(&app, method, path, &b, &ws_b, body, &[])
            .await
            .expect_error(404, "NOT_FOUND");
    }
    let list = call(&app, Method::GET, "/agents", &b, &ws_b, None, &[])
        .await
        .expect(200);
    assert_eq!(list.body["total"], 0);
    // B may create its own agent with the same id; each workspace keeps its own.
    call(
        &app,
        Method::POST,
        "/agents",
        &b,
        &ws_b,
        Some(agent("secret")),
        &[],
    )
    .await
    .expect(201);
    call(&app, Method::DELETE, "/agents/secret", &b, &ws_b, None, &[])
        .await
        .expect(204);
    call(&app, Method::GET, "/agents/secret", &a, &ws_a, None, &[])
        .await
        .expect(200);
    // Naming A's workspace without being a member is refused outright.
    call(&app, Method::GET, "/agents/secret", &b, &ws_a, None, &[])
        .await
        .expect_error(403, "FORBIDDEN");
}
