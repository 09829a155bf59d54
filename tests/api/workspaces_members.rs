//! GET /workspaces/:id/members: every member sees who is in the workspace with their role,
//! oldest first, one page at a time; outsiders see nothing; changes show at once.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn emails(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_member_lists_the_members_with_their_roles_oldest_first() {
    let app = spawn_app().await;
    let t = app.team_named("ml-").await;
    let path = format!("/workspaces/{}/members", t.ws);
    let all = app.get(&path, &t.viewer.token).await.expect(200);
    assert_eq!(all.body["total"], 4, "{}", all.text);
    assert_eq!(all.body["limit"], 20);
    assert_eq!(all.body["offset"], 0);
    assert_eq!(
        emails(&all.body),
        [
            "ml-owner@example.com",
            "ml-admin@example.com",
            "ml-member@example.com",
            "ml-viewer@example.com"
        ]
    );
    let owner = &all.body["items"][0];
    assert_eq!(owner["role"], "owner");
    assert_eq!(owner["userId"], t.owner.id.as_str());
    assert_eq!(owner["workspaceId"], t.ws.as_str());
    assert!(owner["createdAt"].is_string());
    let roles: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "admin", "member", "viewer"]);
    // One page at a time, the same order.
    let page = app
        .get(&format!("{path}?limit=2&offset=1"), &t.member.token)
        .await
        .expect(200);
    assert_eq!(page.body["total"], 4);
    assert_eq!(
        emails(&page.body),
        ["ml-admin@example.com", "ml-member@example.com"]
    );
    let past = app
        .get(&format!("{path}?offset=10"), &t.owner.token)
        .await
        .expect(200);
    assert_eq!(past.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(past.body["total"], 4);
}

#[tokio::test]
async fn the_list_follows_role_changes_and_removals() {
    let app = spawn_app().await;
    let t = app.team_named("mc-").await;
    let path = format!("/workspaces/{}/members", t.ws);
    app.post(
        &path,
        &t.owner.token,
        json!({"uid": t.viewer.id, "role": "admin"}),
    )
    .await
    .expect(200);
    app.delete(&format!("{path}/{}", t.member.id), &t.owner.token)
        .await
        .expect(204);
    let list = app.get(&path, &t.admin.token).await.expect(200);
    assert_eq!(list.body["total"], 3, "{}", list.text);
    let viewer = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["userId"] == t.viewer.id.as_str())
        .expect("the re-roled member is listed");
    assert_eq!(viewer["role"], "admin");
    assert!(!emails(&list.body).contains(&"mc-member@example.com".to_string()));
    // A removed member no longer sees the list.
    app.get(&path, &t.member.token)
        .await
        .expect_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn outsiders_bad_pages_and_missing_workspaces_are_refused() {
    let app = spawn_app().await;
    let t = app.team_named("mr-").await;
    let path = format!("/workspaces/{}/members", t.ws);
    let refused = app
        .get(&path, &t.outsider.token)
        .await
        .expect_error(403, "FORBIDDEN");
    assert!(!refused.text.contains("mr-owner@example.com"));
    app.get("/workspaces/ws_missing/members", &t.owner.token)
        .await
        .expect_error(404, "NOT_FOUND");
    for bad in ["limit=0", "limit=101", "offset=-1", "limit=abc"] {
        app.get(&format!("{path}?{bad}"), &t.owner.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    app.get(&path, "not-a-token")
        .await
        .expect_error(401, "UNAUTHORIZED");
}
