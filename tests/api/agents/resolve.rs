//! `resolve_agent`, called directly against the app's database: own → global → active grant,
//! with colliding ids; pending, expired and foreign agents (403) and unknown ids (404).

use astra::{
    agents::{AgentSource, GlobalAgents, resolve_agent},
    error::ApiError,
};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

use super::{agent, global};
use crate::{helpers::spawn_app_with, workspaces::grant_and_accept};

#[tokio::test]
async fn resolution_order_grants_and_errors() {
    let app = spawn_app_with(|c| c.file.agents = vec![global("oracle", "Oracle")]).await;
    let (a, _, _) = app.register("res-a@example.com").await;
    let (b, _, _) = app.register("res-b@example.com").await;
    let ws_a = app.workspace(&a, "A").await;
    let ws_b = app.workspace(&b, "B").await;
    for id in ["mine", "shared", "private", "oracle"] {
        app.send_ws(Method::POST, "/agents", &a, &ws_a, Some(agent(id)))
            .await
            .expect(201);
    }
    let store = app.store().await;
    let globals = GlobalAgents::load(&app.config.file.agents, Utc::now()).unwrap();
    let now = Utc::now();

    // Offered but not accepted: the same answer as no grant.
    let offered = app
        .post(
            &format!("/workspaces/{ws_a}/grants"),
            &a,
            json!({"receivingWorkspaceId": ws_b, "agentId": "shared"}),
        )
        .await
        .expect(201);
    assert_eq!(offered.body["status"], "pending");
    let pending = resolve_agent(&store, &globals, &ws_b, "shared", now)
        .await
        .unwrap_err();
    assert!(matches!(pending, ApiError::Forbidden(_)), "{pending:?}");

    let expires = (Utc::now() + Duration::days(1)).to_rfc3339();
    for id in ["shared", "oracle"] {
        grant_and_accept(
            &app,
            &ws_a,
            &a,
            &ws_b,
            &b,
            json!({"agentId": id, "readonly": true, "expiresAt": expires}),
        )
        .await;
    }

    let own = resolve_agent(&store, &globals, &ws_a, "mine", now)
        .await
        .unwrap();
    assert_eq!(
        (own.source, own.config.id.as_str()),
        (AgentSource::Own, "mine")
    );

    let granted = resolve_agent(&store, &globals, &ws_b, "shared", now)
        .await
        .unwrap();
    assert_eq!(
        granted.source,
        AgentSource::Granted {
            from_workspace: ws_a.clone(),
            readonly: true
        }
    );
    assert_eq!(granted.config.display_name, "Agent shared");

    // An accepted grant of an id that is also global never shadows the global agent.
    let global = resolve_agent(&store, &globals, &ws_b, "oracle", now)
        .await
        .unwrap();
    assert_eq!(
        (global.source, global.config.display_name.as_str()),
        (AgentSource::Global, "Oracle")
    );

    let later = now + Duration::days(2);
    let expired = resolve_agent(&store, &globals, &ws_b, "shared", later)
        .await
        .unwrap_err();
    assert!(matches!(expired, ApiError::Forbidden(_)), "{expired:?}");

    let other = resolve_agent(&store, &globals, &ws_b, "private", now)
        .await
        .unwrap_err();
    assert!(matches!(other, ApiError::Forbidden(_)), "{other:?}");
    assert_eq!(other.code(), "FORBIDDEN");

    let unknown = resolve_agent(&store, &globals, &ws_b, "nobody", now)
        .await
        .unwrap_err();
    assert_eq!(
        (unknown.status().as_u16(), unknown.code()),
        (404, "NOT_FOUND")
    );

    // A workspace's own agent wins over a grant and over a global agent.
    for id in ["shared", "oracle"] {
        app.send_ws(Method::POST, "/agents", &b, &ws_b, Some(agent(id)))
            .await
            .expect(201);
    }
    for id in ["shared", "oracle"] {
        let r = resolve_agent(&store, &globals, &ws_b, id, now)
            .await
            .unwrap();
        assert_eq!(r.source, AgentSource::Own, "{id}");
    }
    // A grant whose agent was deleted since falls through.
    app.send_ws(Method::DELETE, "/agents/shared", &a, &ws_a, None)
        .await
        .expect(204);
    app.send_ws(Method::DELETE, "/agents/shared", &b, &ws_b, None)
        .await
        .expect(204);
    // This store is another "replica": its short-lived agent cache may still hold the
    // deleted row, so look again from a fresh one.
    store.close().await;
    let store = app.store().await;
    let gone = resolve_agent(&store, &globals, &ws_b, "shared", now)
        .await
        .unwrap_err();
    assert_eq!(gone.code(), "NOT_FOUND");
    store.close().await;
}
