//! GET /sessions and GET /sessions/:id: shapes, order, pagination, filters, isolation.

use crate::helpers::{Answer, FakeLlm, Session, User, chat_app, last_user_text};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn sessions_are_listed_newest_activity_first_with_pagination_and_status() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mut ids = Vec::new();
    for surface_id in ["a", "b", "c"] {
        let r = c
            .chat(json!({"message": "hi", "surfaceId": surface_id}))
            .await
            .expect(200);
        ids.push(r.body["sessionId"].as_str().unwrap().to_string());
    }
    // Activity on `a` makes it the newest.
    c.chat(json!({"message": "again", "surfaceId": "a"}))
        .await
        .expect(200);
    let r = c.app.get("/sessions", &c.token).await.expect(200);
    let page = r.page::<Session>();
    assert_eq!((page.total, page.limit, page.offset), (3, 20, 0));
    let order = page.map(|s| s.id.clone());
    assert_eq!(order, [ids[0].clone(), ids[2].clone(), ids[1].clone()]);
    let first = &r.body["items"][0];
    for key in [
        "id",
        "agentId",
        "workspaceId",
        "surface",
        "surfaceId",
        "status",
        "createdAt",
        "lastActiveAt",
    ] {
        assert!(first[key].is_string(), "{key}: {first}");
    }
    assert_eq!(first["messageCount"], 4);
    assert_eq!(
        (first["agentId"].as_str(), first["surface"].as_str()),
        (Some("chad"), Some("chat"))
    );
    assert!(first["archivedAt"].is_null() && first["summary"].is_null());
    let page = c
        .app
        .get("/sessions?limit=2&offset=2", &c.token)
        .await
        .expect(200);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["id"], ids[1].as_str());
    assert_eq!(page.body["total"], 3);
    // Archive `b`: the status filter splits the list.
    let auth = format!("Bearer {}", c.token);
    c.app
        .send(
            Method::POST,
            "/agent/reset",
            Some(json!({"surfaceId": "b"})),
            &[("authorization", &auth)],
        )
        .await
        .expect(200);
    let archived = c
        .app
        .get("/sessions?status=archived", &c.token)
        .await
        .expect(200);
    assert_eq!(archived.body["total"], 1);
    assert_eq!(archived.body["items"][0]["id"], ids[1].as_str());
    assert!(archived.body["items"][0]["archivedAt"].is_string());
    let active = c
        .app
        .get("/sessions?status=active", &c.token)
        .await
        .expect(200);
    assert_eq!(active.body["total"], 2);
    // Validation names the field.
    let bad = c
        .app
        .get("/sessions?status=open", &c.token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(bad.body["details"]["status"].is_string(), "{}", bad.text);
    for q in ["limit=0", "limit=101", "offset=-1"] {
        let r = c
            .app
            .get(&format!("/sessions?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"].is_object(), "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn detail_returns_the_newest_messages_oldest_first() {
    let fake =
        FakeLlm::start(|req, _| Answer::text(&format!("echo {}", last_user_text(req)))).await;
    let c = chat_app(&fake).await;
    let mut session = String::new();
    for text in ["one", "two", "three"] {
        let r = c.chat(json!({"message": text})).await.expect(200);
        session = r.body["sessionId"].as_str().unwrap().to_string();
    }
    let r = c
        .app
        .get(&format!("/sessions/{session}"), &c.token)
        .await
        .expect(200);
    assert_eq!(r.body["id"], session.as_str());
    assert_eq!(r.body["messageCount"], 6);
    let all: Vec<&str> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        all,
        vec!["one", "echo one", "two", "echo two", "three", "echo three"]
    );
    let m = &r.body["messages"][0];
    assert_eq!(
        (m["role"].as_str(), m["incomplete"].as_bool()),
        (Some("user"), Some(false))
    );
    assert!(m["id"].as_str().unwrap().starts_with("msg_") && m["createdAt"].is_string());
    let last = c
        .app
        .get(&format!("/sessions/{session}?limit=3"), &c.token)
        .await
        .expect(200);
    let tail: Vec<&str> = last.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(tail, vec!["echo two", "three", "echo three"]);
    for q in ["limit=0", "limit=501", "limit=x"] {
        c.app
            .get(&format!("/sessions/{session}?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    c.app
        .get("/sessions/ses_missing", &c.token)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn other_users_sessions_are_invisible_and_the_workspace_header_narrows() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mine = c.chat(json!({"message": "mine"})).await.expect(200);
    let session = mine.body["sessionId"].as_str().unwrap().to_string();
    let User {
        token: other,
        ws: other_ws,
        ..
    } = c.app.onboarded_user("sessions-other@example.com").await;
    c.app
        .get(&format!("/sessions/{session}"), &other)
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        c.app.get("/sessions", &other).await.expect(200).body["total"],
        0
    );
    // A second workspace of the same user holds none of these sessions.
    let second = c.app.workspace(&c.token, "Second").await;
    assert_eq!(
        c.app
            .get_in("/sessions", &c.token, &second)
            .await
            .expect(200)
            .body["total"],
        0
    );
    assert_eq!(
        c.app
            .get_in("/sessions", &c.token, &c.ws)
            .await
            .expect(200)
            .body["total"],
        1
    );
    c.app
        .get_in(&format!("/sessions/{session}"), &c.token, &second)
        .await
        .expect_error(404, "NOT_FOUND");
    c.app
        .get_in(&format!("/sessions/{session}"), &c.token, &c.ws)
        .await
        .expect(200);
    // Someone else's workspace is refused outright.
    c.app
        .get_in("/sessions", &c.token, &other_ws)
        .await
        .expect_error(403, "FORBIDDEN");
}
