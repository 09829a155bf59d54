//! Memory belongs to a user within a workspace: other users and other workspaces see none
//! of it, and anonymous or non-member calls are refused.

use chrono::Utc;
use reqwest::Method;
use serde_json::json;

use super::support::{daily_at, day, mem_app};

#[tokio::test]
async fn another_users_and_another_workspaces_memory_is_invisible() {
    let m = mem_app("mem-iso-a").await;
    let store = m.app.store().await;
    // Ada writes one of everything in her workspace.
    m.call(
        Method::PUT,
        "/agent/memory/profile",
        Some(json!({"profile": {"secret": "marmalade"}})),
    )
    .await
    .expect(200);
    m.call(
        Method::POST,
        "/agent/memory/notes",
        Some(json!({"content": "marmalade recipe"})),
    )
    .await
    .expect(201);
    daily_at(&store, &m.user.id, &m.user.ws, "marmalade day", Utc::now()).await;
    let today = day(Utc::now());
    let hits = m
        .call(
            Method::GET,
            "/agent/memory/search?q=marmalade&topK=10",
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        hits.body["items"].as_array().unwrap().len(),
        3,
        "{}",
        hits.text
    );

    // Bob, a member of the same workspace, sees nothing of hers and cannot delete it.
    let (bob, _, _) = m.app.register("mem-iso-b@example.com").await;
    m.app
        .post(
            &format!("/workspaces/{}/members", m.user.ws),
            &m.user.token,
            json!({"email": "mem-iso-b@example.com", "role": "viewer"}),
        )
        .await
        .expect(201);
    let as_bob = |method: Method, path: String| {
        let app = &m.app;
        let bob = bob.clone();
        let ws = m.user.ws.clone();
        async move { app.send_ws(method, &path, &bob, &ws, None).await }
    };
    let r = as_bob(Method::GET, "/agent/memory/profile".into())
        .await
        .expect(200);
    assert_eq!(r.body["profile"], json!({}));
    let r = as_bob(Method::GET, "/agent/memory/notes".into())
        .await
        .expect(200);
    assert_eq!(r.body["total"], 0);
    let r = as_bob(Method::GET, format!("/agent/memory/daily/{today}"))
        .await
        .expect(200);
    assert_eq!(r.body["entries"], json!([]));
    let r = as_bob(Method::GET, "/agent/memory/daily".into())
        .await
        .expect(200);
    assert_eq!(r.body["items"], json!([]));
    let r = as_bob(Method::GET, "/agent/memory/search?q=marmalade".into())
        .await
        .expect(200);
    assert_eq!(r.body["items"], json!([]));
    as_bob(Method::DELETE, "/agent/memory/notes/0".into())
        .await
        .expect_error(404, "NOT_FOUND");
    as_bob(Method::DELETE, format!("/agent/memory/daily/{today}/0"))
        .await
        .expect_error(404, "NOT_FOUND");
    // A viewer keeps a memory of their own.
    m.app
        .send_ws(
            Method::POST,
            "/agent/memory/notes",
            &bob,
            &m.user.ws,
            Some(json!({"content": "bob's note"})),
        )
        .await
        .expect(201);

    // Ada in another workspace starts from nothing.
    let other = m.app.workspace(&m.user.token, "Other").await;
    let as_ada_elsewhere = |path: &'static str| m.app.get_in(path, &m.user.token, &other);
    let r = as_ada_elsewhere("/agent/memory/profile").await.expect(200);
    assert_eq!(r.body["profile"], json!({}));
    let r = as_ada_elsewhere("/agent/memory/notes").await.expect(200);
    assert_eq!(r.body["total"], 0);
    let r = as_ada_elsewhere("/agent/memory/search?q=marmalade")
        .await
        .expect(200);
    assert_eq!(r.body["items"], json!([]));

    // Her own memory is untouched by all of that.
    let r = m
        .call(Method::GET, "/agent/memory/notes", None)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["items"][0]["content"], "marmalade recipe");
}

#[tokio::test]
async fn non_members_and_anonymous_callers_are_refused() {
    let m = mem_app("mem-iso-c").await;
    let (stranger, _, _) = m.app.register("mem-iso-d@example.com").await;
    m.app
        .get_in("/agent/memory/profile", &stranger, &m.user.ws)
        .await
        .expect_error(403, "FORBIDDEN");
    m.app
        .send(Method::GET, "/agent/memory/notes", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    m.app
        .send(
            Method::GET,
            "/agent/memory/profile",
            None,
            &[("authorization", "Bearer not-a-token")],
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
}
