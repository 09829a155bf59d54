//! Workspace MCP servers (`/mcp-servers`): owners and admins write, members read; the URL
//! goes through the outbound guard; headers are write-only secrets, sealed at rest; agents of
//! the workspace use the server's tools, and a server dying mid-call is an error result.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{
    fake::FakeMcp,
    support::{calling, tool_results},
};
use crate::helpers::{agent, chat_app, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_private_address_is_refused_unless_private_urls_are_allowed() {
    let app = spawn_app_with(|c| c.allow_private_urls = false).await;
    let owner = app.user_with_workspace().await;
    for url in [
        "http://127.0.0.1:9/mcp",
        "http://10.1.2.3/mcp",
        "http://169.254.169.254/mcp",
        "http://localhost:8080/mcp",
        "file:///etc/passwd",
    ] {
        let r = app
            .post_as(
                &owner,
                "/mcp-servers",
                json!({"id": "internal", "url": url}),
            )
            .await;
        r.expect_error(400, "VALIDATION_ERROR");
    }
    let listed = app.get_as(&owner, "/mcp-servers").await.expect(200);
    assert_eq!(listed.body["total"], 0);
}

#[tokio::test]
async fn roles_validation_and_write_only_headers() {
    let app = spawn_app().await;
    let team = app.team().await;
    let mcp = FakeMcp::start().await;
    let body =
        json!({"id": "tools", "url": mcp.url, "headers": {"Authorization": "Bearer s3cret-token"}});
    // Members and viewers cannot write.
    for user in [&team.member, &team.viewer] {
        app.post_as(user, "/mcp-servers", body.clone())
            .await
            .expect_error(403, "FORBIDDEN");
    }
    let created = app
        .post_as(&team.owner, "/mcp-servers", body.clone())
        .await
        .expect(201);
    assert_eq!(created.body["id"], "tools");
    assert_eq!(created.body["transport"], "http");
    assert_eq!(created.body["headerNames"], json!(["Authorization"]));
    assert!(!created.text.contains("s3cret"), "{}", created.text);
    app.post_as(&team.admin, "/mcp-servers", body.clone())
        .await
        .expect_error(409, "CONFLICT");
    for bad in [
        json!({"id": "Bad_Id", "url": mcp.url}),
        json!({"id": "ok"}),
        json!({"id": "ok", "url": mcp.url, "headers": {"Mcp-Session-Id": "x"}}),
        json!({"id": "ok", "url": mcp.url, "command": "rm"}),
    ] {
        app.post_as(&team.owner, "/mcp-servers", bad)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    // Every member reads; no response carries the header value.
    for user in [&team.member, &team.viewer] {
        let list = app.get_as(user, "/mcp-servers?limit=10").await.expect(200);
        assert_eq!(list.body["total"], 1);
        assert_eq!(list.body["items"][0]["url"], mcp.url.as_str());
        assert!(!list.text.contains("s3cret"));
        let one = app.get_as(user, "/mcp-servers/tools").await.expect(200);
        assert!(!one.text.contains("s3cret"));
        app.call(
            user,
            Method::PUT,
            "/mcp-servers/tools",
            Some(json!({"url": mcp.url})),
        )
        .await
        .expect_error(403, "FORBIDDEN");
        app.call(user, Method::DELETE, "/mcp-servers/tools", None)
            .await
            .expect_error(403, "FORBIDDEN");
        app.post_as(user, "/mcp-servers/tools/refresh", json!({}))
            .await
            .expect_error(403, "FORBIDDEN");
    }
    // Another workspace does not see it.
    let outsider = app.get_as(&team.outsider, "/mcp-servers/tools").await;
    outsider.expect_error(404, "NOT_FOUND");
    // Sealed at rest.
    let store = app.store().await;
    let stored: String = astra::with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT headers_ciphertext FROM mcp_servers WHERE id = 'tools'").fetch_one(p).await.unwrap()
    });
    assert!(stored.starts_with("v1:") && !stored.contains("s3cret"));
    // Refresh connects with the header and lists the tools.
    let refreshed = app
        .post_as(&team.admin, "/mcp-servers/tools/refresh", json!({}))
        .await
        .expect(200);
    assert_eq!(refreshed.body["ok"], true, "{}", refreshed.text);
    let names: Vec<&str> = refreshed.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mcp__tools__echo", "mcp__tools__explode", "mcp__tools__die"]
    );
    assert!(!refreshed.text.contains("s3cret"));
    assert!(
        mcp.authorizations()
            .iter()
            .all(|a| a.as_deref() == Some("Bearer s3cret-token"))
    );
    // PUT without headers keeps them; with `{}` removes them.
    let put = app
        .call(
            &team.admin,
            Method::PUT,
            "/mcp-servers/tools",
            Some(json!({"url": mcp.url})),
        )
        .await
        .expect(200);
    assert_eq!(put.body["headerNames"], json!(["Authorization"]));
    let put = app
        .call(
            &team.admin,
            Method::PUT,
            "/mcp-servers/tools",
            Some(json!({"url": mcp.url, "headers": {}})),
        )
        .await
        .expect(200);
    assert_eq!(put.body["headerNames"], json!([]));
    // An unreachable server is reported, not a failure.
    app.call(
        &team.owner,
        Method::PUT,
        "/mcp-servers/tools",
        Some(json!({"url": "http://127.0.0.1:9/mcp"})),
    )
    .await
    .expect(200);
    let down = app
        .post_as(&team.owner, "/mcp-servers/tools/refresh", json!({}))
        .await
        .expect(200);
    assert_eq!(down.body["ok"], false);
    assert!(down.body["error"].is_string());
    app.call(&team.owner, Method::DELETE, "/mcp-servers/tools", None)
        .await
        .expect(204);
    app.get_as(&team.owner, "/mcp-servers/tools")
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_workspace_agent_uses_its_workspace_server_which_dies_mid_call() {
    let mcp = FakeMcp::start().await;
    let llm = calling(vec![
        ("mcp__ws-tools__echo", json!({"text": "from the workspace"})),
        ("mcp__ws-tools__die", json!({})),
    ])
    .await;
    let c = chat_app(&llm).await;
    c.app
        .post_as(
            &c.user,
            "/mcp-servers",
            json!({"id": "ws-tools", "url": mcp.url}),
        )
        .await
        .expect(201);
    c.create_agent(agent(
        "wsagent",
        json!({"tools": {"allow": ["mcp__ws-tools__echo", "mcp__ws-tools__die"]}}),
    ))
    .await;
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        c.chat(json!({"message": "go", "agentId": "wsagent"})),
    )
    .await
    .unwrap()
    .expect(200);
    assert_eq!(r.body["content"], "done");
    let results = tool_results(&llm.request(2));
    assert!(
        results[0].contains("echo: from the workspace"),
        "{results:?}"
    );
    assert!(results[1].contains("error"), "{results:?}");
    // Another workspace's agents do not get this workspace's server.
    let other = c.app.user_with_workspace().await;
    let caps = c
        .app
        .post_as(
            &other,
            "/agents",
            agent("peek", json!({"tools": {"allow": ["mcp__ws-tools__echo"]}})),
        )
        .await
        .expect(201);
    drop(caps);
    let caps = c
        .app
        .get_as(&other, "/agents/peek/capabilities")
        .await
        .expect(200);
    let leaked = caps.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"].as_str().unwrap().starts_with("mcp__"));
    assert!(!leaked, "{}", caps.text);
}
