//! POST /sessions/:id/handoff: the next message to the new agent continues the session.

use crate::helpers::{Answer, ChatApp, FakeLlm, User, agent, chat_app, last_user_text};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::Resp;

/// The fake answers as whichever agent its system prompt names.
async fn persona_fake() -> FakeLlm {
    FakeLlm::start(|req, _| {
        let system = req["messages"][0]["content"].as_str().unwrap_or_default();
        let who = system.split('.').next().unwrap_or_default().to_string();
        Answer::text(&format!("{who}: {}", last_user_text(req)))
    })
    .await
}

async fn handoff(c: &ChatApp, session: &str, body: Value) -> Resp {
    c.app
        .post(&format!("/sessions/{session}/handoff"), &c.token, body)
        .await
}

#[tokio::test]
async fn handoff_changes_the_agent_that_answers_the_next_message() {
    let fake = persona_fake().await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("helper", json!({}))).await;
    // helper already has a conversation on this surface; the handoff supersedes it.
    let earlier = c
        .chat(json!({"message": "old thread", "agentId": "helper"}))
        .await
        .expect(200);
    let first = c.chat(json!({"message": "hello"})).await.expect(200);
    let session = first.body["sessionId"].as_str().unwrap().to_string();
    assert_ne!(first.body["content"], "You are helper: hello");

    let r = handoff(
        &c,
        &session,
        json!({"agentId": "helper", "reason": "billing question"}),
    )
    .await
    .expect(200);
    assert_eq!(
        (r.body["id"].as_str(), r.body["agentId"].as_str()),
        (Some(session.as_str()), Some("helper"))
    );
    assert_eq!(
        (r.body["status"].as_str(), r.body["messageCount"].as_i64()),
        (Some("active"), Some(3))
    );

    let next = c
        .chat(json!({"message": "what do I owe?", "agentId": "helper"}))
        .await
        .expect(200);
    assert_eq!(next.body["sessionId"], session.as_str());
    assert_eq!(next.body["content"], "You are helper: what do I owe?");
    // The new agent sees the conversation so far, not the note.
    let sent = fake.last_request().to_string();
    assert!(
        sent.contains("hello") && !sent.contains("billing question"),
        "{sent}"
    );
    // The superseded helper session is archived; the old agent starts afresh.
    let old = c
        .app
        .get(
            &format!("/sessions/{}", earlier.body["sessionId"].as_str().unwrap()),
            &c.token,
        )
        .await
        .expect(200);
    assert_eq!(old.body["status"], "archived");
    let back = c.chat(json!({"message": "hi chad"})).await.expect(200);
    assert_ne!(back.body["sessionId"], session.as_str());

    let detail = c
        .app
        .get(&format!("/sessions/{session}"), &c.token)
        .await
        .expect(200);
    let note = detail.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "system")
        .cloned()
        .unwrap();
    let text = note["content"].as_str().unwrap();
    assert!(
        text.contains("chad") && text.contains("helper") && text.contains("billing question"),
        "{text}"
    );
    // The handoff is audited.
    let uid = c.user.id.clone();
    let audit = c
        .app
        .key_get(&format!("/admin/audit/{uid}"))
        .await
        .expect(200);
    let entry = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "session.handoff")
        .cloned()
        .unwrap();
    assert_eq!(entry["target"], session.as_str());
    assert_eq!(
        (
            entry["details"]["from"].as_str(),
            entry["details"]["to"].as_str()
        ),
        (Some("chad"), Some("helper"))
    );
    assert_eq!(entry["workspaceId"], c.ws.as_str());
}

#[tokio::test]
async fn handoff_refuses_bad_targets_and_foreign_sessions() {
    let fake = persona_fake().await;
    let c = chat_app(&fake).await;
    let first = c.chat(json!({"message": "hello"})).await.expect(200);
    let session = first.body["sessionId"].as_str().unwrap().to_string();
    let r = handoff(&c, &session, json!({}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["agentId"].is_string(), "{}", r.text);
    let r = handoff(
        &c,
        &session,
        json!({"agentId": "helper", "reason": "x".repeat(501)}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["reason"].is_string(), "{}", r.text);
    handoff(&c, &session, json!({"agentId": "chad"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    handoff(&c, &session, json!({"agentId": "nobody"}))
        .await
        .expect_error(404, "NOT_FOUND");
    // An agent of another workspace, not granted here.
    let User {
        token: other,
        ws: other_ws,
        ..
    } = c.app.onboarded_user("handoff-other@example.com").await;
    let auth = format!("Bearer {other}");
    c.app
        .send(
            Method::POST,
            "/agents",
            Some(agent("secret", json!({}))),
            &[("authorization", &auth), ("x-workspace-id", &other_ws)],
        )
        .await
        .expect(201);
    handoff(&c, &session, json!({"agentId": "secret"}))
        .await
        .expect_error(403, "FORBIDDEN");
    // Another user's session does not exist for the caller.
    c.app
        .post(
            &format!("/sessions/{session}/handoff"),
            &other,
            json!({"agentId": "chad"}),
        )
        .await
        .expect_error(404, "NOT_FOUND");
    handoff(&c, "ses_missing", json!({"agentId": "chad"}))
        .await
        .expect_error(404, "NOT_FOUND");
    // Archived sessions stay where they are.
    let auth = format!("Bearer {}", c.token);
    c.app
        .send(
            Method::POST,
            "/agent/reset",
            Some(json!({})),
            &[("authorization", &auth)],
        )
        .await
        .expect(200);
    c.create_agent(agent("helper", json!({}))).await;
    handoff(&c, &session, json!({"agentId": "helper"}))
        .await
        .expect_error(409, "CONFLICT");
    // Nothing changed on the refused attempts.
    let detail = c
        .app
        .get(&format!("/sessions/{session}"), &c.token)
        .await
        .expect(200);
    assert_eq!(
        (
            detail.body["agentId"].as_str(),
            detail.body["messageCount"].as_i64()
        ),
        (Some("chad"), Some(2))
    );
}
