//! Who may run which agent: resolution (404/403), grants, restrictions, viewers.

use crate::helpers::{FakeLlm, agent, chat_app};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_and_foreign_agents_are_refused() {
    let fake = FakeLlm::saying("ok").await;
    let a = chat_app(&fake).await;
    a.chat(json!({"message": "hi", "agentId": "nobody"}))
        .await
        .expect_error(404, "NOT_FOUND");
    // Another workspace of the same gateway owns `secret`.
    let (other_token, _, _) = a.app.register("other-owner@example.com").await;
    let other_ws = a.app.workspace(&other_token, "Other").await;
    let other_auth = format!("Bearer {other_token}");
    a.app
        .send(
            Method::POST,
            "/agents",
            Some(agent("secret", json!({}))),
            &[
                ("authorization", &other_auth),
                ("x-workspace-id", &other_ws),
            ],
        )
        .await
        .expect(201);
    a.chat(json!({"message": "hi", "agentId": "secret"}))
        .await
        .expect_error(403, "FORBIDDEN");
    // A grant makes it usable once this workspace accepted it.
    crate::workspaces::grant_and_accept(
        &a.app,
        &other_ws,
        &other_token,
        &a.ws,
        &a.token,
        json!({"agentId": "secret"}),
    )
    .await;
    let r = a
        .chat(json!({"message": "hi", "agentId": "secret"}))
        .await
        .expect(200);
    assert_eq!(r.body["content"], "ok");
    // Foreign workspace header without membership.
    let auth_a = format!("Bearer {}", a.token);
    a.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &[("authorization", &auth_a), ("x-workspace-id", &other_ws)],
        )
        .await
        .expect_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn workspace_restrictions_block_other_providers_and_models() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    c.app
        .put(
            &format!("/workspaces/{}/restrictions", c.ws),
            &c.token,
            json!({"allowedProviders": ["claude"]}),
        )
        .await
        .expect(200);
    let r = c
        .chat(json!({"message": "hi"}))
        .await
        .expect_error(403, "FORBIDDEN");
    assert!(r.body["message"].as_str().unwrap().contains("openai"));
    c.app
        .put(
            &format!("/workspaces/{}/restrictions", c.ws),
            &c.token,
            json!({"allowedProviders": ["openai"], "allowedModels": ["gpt-4o"]}),
        )
        .await
        .expect(200);
    let r = c
        .chat(json!({"message": "hi"}))
        .await
        .expect_error(403, "FORBIDDEN");
    assert!(r.body["message"].as_str().unwrap().contains("gpt-4o-mini"));
    c.app
        .put(
            &format!("/workspaces/{}/restrictions", c.ws),
            &c.token,
            json!({"allowedProviders": ["openai"], "allowedModels": null}),
        )
        .await
        .expect(200);
    c.chat(json!({"message": "hi"})).await.expect(200);
    assert_eq!(fake.hits(), 1);
}

#[tokio::test]
async fn viewers_cannot_run_agents() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let (viewer, viewer_id, _) = c.app.register("viewer-chat@example.com").await;
    c.app
        .post(
            &format!("/workspaces/{}/members", c.ws),
            &c.token,
            json!({"uid": viewer_id, "role": "viewer"}),
        )
        .await
        .expect(201);
    let auth = format!("Bearer {viewer}");
    c.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &[("authorization", &auth), ("x-workspace-id", &c.ws)],
        )
        .await
        .expect_error(403, "FORBIDDEN");
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn agent_and_membership_changes_apply_to_the_next_turn() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    c.create_agent(agent(
        "changer",
        json!({"systemPromptTemplate": "Version one."}),
    ))
    .await;
    c.chat(json!({"message": "hi", "agentId": "changer"}))
        .await
        .expect(200);
    assert!(
        fake.last_request()["messages"][0]["content"]
            .as_str()
            .unwrap()
            .starts_with("Version one.")
    );
    let auth = format!("Bearer {}", c.token);
    c.app
        .send(
            Method::PUT,
            "/agents/changer",
            Some(agent(
                "changer",
                json!({"systemPromptTemplate": "Version two."}),
            )),
            &[("authorization", &auth), ("x-workspace-id", &c.ws)],
        )
        .await
        .expect(200);
    c.chat(json!({"message": "hi", "agentId": "changer"}))
        .await
        .expect(200);
    assert!(
        fake.last_request()["messages"][0]["content"]
            .as_str()
            .unwrap()
            .starts_with("Version two.")
    );
    // A member demoted to viewer is refused on the very next turn.
    let (member, member_id, _) = c.app.register("demoted@example.com").await;
    c.app
        .post(
            &format!("/workspaces/{}/members", c.ws),
            &c.token,
            json!({"uid": member_id, "role": "member"}),
        )
        .await
        .expect(201);
    let member_auth = format!("Bearer {member}");
    let headers = [
        ("authorization", member_auth.as_str()),
        ("x-workspace-id", c.ws.as_str()),
    ];
    c.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &headers,
        )
        .await
        .expect(200);
    c.app
        .post(
            &format!("/workspaces/{}/members", c.ws),
            &c.token,
            json!({"uid": member_id, "role": "viewer"}),
        )
        .await
        .expect(200);
    c.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &headers,
        )
        .await
        .expect_error(403, "FORBIDDEN");
    c.app
        .delete(
            &format!("/workspaces/{}/members/{member_id}", c.ws),
            &c.token,
        )
        .await
        .expect(204);
    c.app
        .send(
            Method::POST,
            "/agent/chat",
            Some(json!({"message": "hi"})),
            &headers,
        )
        .await
        .expect_error(403, "FORBIDDEN");
}
