//! Workspaces group: CRUD, roles, members, grants, restrictions, stats, isolation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

/// Offers `agent_id` of `from_ws` to `to_ws` (as a manager of `from_ws`) and accepts it (as a
/// manager of `to_ws`): grants take effect only once the receiving workspace consents.
/// Returns the active grant.
pub async fn grant_and_accept(
    app: &TestApp,
    from_ws: &str,
    granter: &str,
    to_ws: &str,
    accepter: &str,
    body: Value,
) -> Value {
    let mut body = body;
    body["receivingWorkspaceId"] = json!(to_ws);
    let offered = app
        .post(&format!("/workspaces/{from_ws}/grants"), granter, body)
        .await;
    assert!(
        offered.status == 201 || offered.status == 200,
        "grant: {}",
        offered.text
    );
    let id = offered.body["id"].as_str().expect("grant id").to_string();
    let r = app
        .post(
            &format!("/workspaces/{to_ws}/grants/{id}/accept"),
            accepter,
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "active", "{}", r.text);
    r.body
}

#[tokio::test]
async fn create_list_and_get() {
    let app = spawn_app().await;
    let (token, uid, _) = app.register("w1@example.com").await;
    let r = app
        .post(
            "/workspaces",
            &token,
            json!({"name": "  Team A ", "plan": "pro"}),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ws_"));
    assert_eq!(r.body["name"], "Team A");
    assert_eq!(r.body["ownerId"], uid.as_str());
    assert_eq!(r.body["plan"], "pro");
    assert!(r.body["settings"].is_object() && r.body["createdAt"].is_string());
    app.post("/workspaces", &token, json!({"name": "B"}))
        .await
        .expect(201);
    let list = app.get("/workspaces", &token).await.expect(200);
    assert_eq!(list.body["total"], 2);
    assert_eq!(list.body["items"][0]["role"], "owner");
    assert_eq!(list.body["items"][1]["plan"], "free");
    let page = app
        .get("/workspaces?limit=1&offset=1", &token)
        .await
        .expect(200);
    assert_eq!(page.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["items"][0]["name"], "B");
    let one = app
        .get(&format!("/workspaces/{id}"), &token)
        .await
        .expect(200);
    assert_eq!(one.body["yourRole"], "owner");
    app.get("/workspaces/ws_missing", &token)
        .await
        .expect_error(404, "NOT_FOUND");
    app.get("/workspaces?limit=0", &token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.get("/workspaces?limit=abc", &token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn create_validates_input() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("w2@example.com").await;
    let r = app
        .post("/workspaces", &token, json!({"name": ""}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["name"].is_string());
    let r = app
        .post("/workspaces", &token, json!({"plan": "pro"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["name"].is_string(), "{}", r.text);
    app.post(
        "/workspaces",
        &token,
        json!({"name": "x", "plan": "Gold Plan!"}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.post("/workspaces", &token, json!({"name": 42}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn non_members_see_nothing() {
    let app = spawn_app().await;
    let t = app.team().await;
    let ws = &t.ws;
    let o = &t.outsider.token;
    app.get(&format!("/workspaces/{ws}"), o)
        .await
        .expect_error(403, "FORBIDDEN");
    app.put(
        &format!("/workspaces/{ws}/settings"),
        o,
        json!({"name": "x"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.post(
        &format!("/workspaces/{ws}/members"),
        o,
        json!({"email": "outsider@example.com"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.delete(&format!("/workspaces/{ws}/members/{}", t.viewer.id), o)
        .await
        .expect_error(403, "FORBIDDEN");
    app.get(&format!("/workspaces/{ws}/stats"), o)
        .await
        .expect_error(403, "FORBIDDEN");
    app.get(&format!("/workspaces/{ws}/grants"), o)
        .await
        .expect_error(403, "FORBIDDEN");
    app.put(
        &format!("/workspaces/{ws}/restrictions"),
        o,
        json!({"allowedProviders": null}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    // He sees his own workspace only.
    let list = app.get("/workspaces", o).await.expect(200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["id"], t.outsider.ws);
}

#[tokio::test]
async fn settings_need_owner_or_admin() {
    let app = spawn_app().await;
    let t = app.team().await;
    let path = format!("/workspaces/{}/settings", t.ws);
    app.put(&path, &t.member.token, json!({"name": "x"}))
        .await
        .expect_error(403, "FORBIDDEN");
    app.put(&path, &t.viewer.token, json!({"name": "x"}))
        .await
        .expect_error(403, "FORBIDDEN");
    let r = app
        .put(
            &path,
            &t.admin.token,
            json!({"name": "Renamed", "settings": {"defaultAgent": "chad", "memoryTtlDays": 30}}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["name"], "Renamed");
    assert_eq!(r.body["yourRole"], "admin");
    let r = app
        .put(
            &path,
            &t.owner.token,
            json!({"plan": "team", "settings": {"memoryTtlDays": null}}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["plan"], "team");
    assert_eq!(r.body["settings"], json!({"defaultAgent": "chad"}));
    let r = app
        .put(
            &path,
            &t.owner.token,
            json!({"name": "", "plan": "BAD PLAN"}),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["name"].is_string() && r.body["details"]["plan"].is_string());
    app.put(&path, &t.owner.token, json!({"settings": "not-an-object"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn members_are_added_changed_and_removed() {
    let app = spawn_app().await;
    let t = app.team().await;
    let members = format!("/workspaces/{}/members", t.ws);
    // Members and viewers cannot invite.
    app.post(
        &members,
        &t.member.token,
        json!({"email": "outsider@example.com"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.post(
        &members,
        &t.viewer.token,
        json!({"email": "outsider@example.com"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    // Changing a role is idempotent: 200, not a duplicate.
    let r = app
        .post(
            &members,
            &t.owner.token,
            json!({"email": "viewer@example.com", "role": "member"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["role"], "member");
    app.post(
        &members,
        &t.owner.token,
        json!({"email": "viewer@example.com", "role": "member"}),
    )
    .await
    .expect(200);
    // Validation and unknown users.
    let r = app
        .post(
            &members,
            &t.owner.token,
            json!({"email": "viewer@example.com", "role": "king"}),
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["role"].is_string());
    app.post(&members, &t.owner.token, json!({"role": "member"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.post(
        &members,
        &t.owner.token,
        json!({"email": "ghost@example.com"}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    // Admins cannot make owners.
    app.post(
        &members,
        &t.admin.token,
        json!({"email": "member@example.com", "role": "owner"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    // Removal: a member cannot remove others, an admin can, anyone can leave.
    app.delete(&format!("{members}/{}", t.viewer.id), &t.member.token)
        .await
        .expect_error(403, "FORBIDDEN");
    app.delete(&format!("{members}/{}", t.viewer.id), &t.admin.token)
        .await
        .expect(204);
    app.get(&format!("/workspaces/{}", t.ws), &t.viewer.token)
        .await
        .expect_error(403, "FORBIDDEN");
    app.delete(&format!("{members}/{}", t.viewer.id), &t.admin.token)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn last_owner_cannot_be_removed() {
    let app = spawn_app().await;
    let (owner, owner_id, _) = app.register("solo@example.com").await;
    let ws = app.workspace(&owner, "Solo").await;
    app.delete(&format!("/workspaces/{ws}/members/{owner_id}"), &owner)
        .await
        .expect_error(409, "CONFLICT");
    app.post(
        &format!("/workspaces/{ws}/members"),
        &owner,
        json!({"uid": owner_id, "role": "admin"}),
    )
    .await
    .expect_error(409, "CONFLICT");
    // With a second owner, the first may leave.
    let (_, second_id, _) = app.register("second@example.com").await;
    app.post(
        &format!("/workspaces/{ws}/members"),
        &owner,
        json!({"uid": second_id, "role": "owner"}),
    )
    .await
    .expect(201);
    app.delete(&format!("/workspaces/{ws}/members/{owner_id}"), &owner)
        .await
        .expect(204);
}

#[tokio::test]
async fn grants_are_created_listed_and_revoked() {
    let app = spawn_app().await;
    let t = app.team().await;
    let (other_owner, _, _) = app.register("other@example.com").await;
    let other_ws = app.workspace(&other_owner, "Other").await;
    let grants = format!("/workspaces/{}/grants", t.ws);
    let body = json!({"receivingWorkspaceId": other_ws, "agentId": "chad"});
    app.post(&grants, &t.member.token, body.clone())
        .await
        .expect_error(403, "FORBIDDEN");
    let r = app
        .post(&grants, &t.owner.token, body.clone())
        .await
        .expect(201);
    assert_eq!(r.body["readonly"], true);
    assert!(r.body["id"].as_str().unwrap().starts_with("grt_"));
    assert!(r.body["expiresAt"].is_null());
    assert_eq!(r.body["status"], "pending");
    assert!(r.body["respondedAt"].is_null() && r.body["respondedBy"].is_null());
    let r = app.post(&grants, &t.admin.token, json!({"receivingWorkspaceId": other_ws, "agentId": "chad", "readonly": false, "expiresAt": "2999-01-01T00:00:00Z"})).await.expect(200);
    assert_eq!(r.body["readonly"], false);
    assert_eq!(r.body["status"], "pending");
    let list = app.get(&grants, &t.viewer.token).await.expect(200);
    assert_eq!(list.body["total"], 1);
    assert_eq!(list.body["items"][0]["status"], "pending");
    // Bad input.
    app.post(
        &grants,
        &t.owner.token,
        json!({"receivingWorkspaceId": t.ws, "agentId": "chad"}),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.post(&grants, &t.owner.token, json!({"receivingWorkspaceId": other_ws, "agentId": "chad", "expiresAt": "2001-01-01T00:00:00Z"})).await.expect_error(400, "VALIDATION_ERROR");
    app.post(
        &grants,
        &t.owner.token,
        json!({"receivingWorkspaceId": "ws_nope", "agentId": "chad"}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.post(&grants, &t.owner.token, json!({"agentId": "chad"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Revoke by JSON body, then by query.
    let auth = format!("Bearer {}", t.owner.token);
    app.send(
        Method::DELETE,
        &grants,
        Some(body.clone()),
        &[("authorization", &auth)],
    )
    .await
    .expect(204);
    app.send(
        Method::DELETE,
        &grants,
        Some(body.clone()),
        &[("authorization", &auth)],
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.post(&grants, &t.owner.token, body).await.expect(201);
    app.delete(
        &format!("{grants}?receivingWorkspaceId={other_ws}&agentId=chad"),
        &t.member.token,
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.delete(
        &format!("{grants}?receivingWorkspaceId={other_ws}&agentId=chad"),
        &t.owner.token,
    )
    .await
    .expect(204);
    app.delete(&grants, &t.owner.token)
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn restrictions_are_validated_and_stored() {
    let app = spawn_app().await;
    let t = app.team().await;
    let path = format!("/workspaces/{}/restrictions", t.ws);
    app.put(
        &path,
        &t.member.token,
        json!({"allowedProviders": ["openai"]}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    let r = app
        .put(
            &path,
            &t.owner.token,
            json!({"allowedProviders": ["openai", "claude"], "allowedModels": ["gpt-4o-mini"]}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["allowedProviders"], json!(["openai", "claude"]));
    let ws = app
        .get(&format!("/workspaces/{}", t.ws), &t.viewer.token)
        .await
        .expect(200);
    assert_eq!(ws.body["allowedModels"], json!(["gpt-4o-mini"]));
    let r = app
        .put(&path, &t.owner.token, json!({"allowedProviders": ["nope"]}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["allowedProviders"].is_string());
    app.put(&path, &t.owner.token, json!({"allowedProviders": "openai"}))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    app.put(
        &path,
        &t.admin.token,
        json!({"allowedProviders": null, "allowedModels": null}),
    )
    .await
    .expect(200);
    let ws = app
        .get(&format!("/workspaces/{}", t.ws), &t.owner.token)
        .await
        .expect(200);
    assert!(ws.body["allowedProviders"].is_null());
}

#[tokio::test]
async fn stats_need_a_member_and_valid_days() {
    let app = spawn_app().await;
    let t = app.team().await;
    app.send(
        Method::GET,
        &format!("/workspaces/{}/stats", t.ws),
        None,
        &[],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    let r = app
        .get(&format!("/workspaces/{}/stats", t.ws), &t.viewer.token)
        .await
        .expect(200);
    assert_eq!(r.body["days"], 30);
    assert_eq!(r.body["members"], 4);
    assert_eq!(r.body["tokens"]["total"], 0);
    app.get(
        &format!("/workspaces/{}/stats?days=366", t.ws),
        &t.owner.token,
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.get(
        &format!("/workspaces/{}/stats?days=365", t.ws),
        &t.owner.token,
    )
    .await
    .expect(200);
}
