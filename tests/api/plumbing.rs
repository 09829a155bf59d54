//! Cross-cutting HTTP behaviour: request ids, security headers, body limit, JSON errors,
//! fallbacks, system routes and the OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn request_id_is_echoed_or_generated() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/health", None, &[("x-request-id", "abc-123")])
        .await
        .expect(200);
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = app.send(Method::GET, "/health", None, &[]).await;
    assert!(r.header("x-request-id").is_some_and(|v| v.len() >= 32));
    // Error bodies quote it.
    let r = app
        .send(
            Method::GET,
            "/workspaces",
            None,
            &[("x-request-id", "req-err-1")],
        )
        .await
        .expect(401);
    assert_eq!(r.body["requestId"], "req-err-1");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert!(r.header("content-security-policy").is_some());
    assert!(r.header("strict-transport-security").is_some());
    assert!(r.header("referrer-policy").is_some());
}

#[tokio::test]
async fn bodies_over_one_megabyte_are_refused() {
    let app = spawn_app().await;
    let big = json!({"email": "a@b.io", "password": "x".repeat(1024 * 1024 + 10)});
    app.send(Method::POST, "/auth/register", Some(big), &[])
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn malformed_bodies_are_validation_errors() {
    let app = spawn_app().await;
    let raw = |body: &'static str, ct: &'static str| {
        let c = app
            .client
            .post(app.url("/auth/register"))
            .header("content-type", ct)
            .body(body);
        async move {
            let r = c.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = raw("{not json", "application/json").await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "VALIDATION_ERROR");
    assert!(body["details"].is_object());
    let (status, body) = raw(
        r#"{"email":"a@b.io","password":"long-enough"}"#,
        "text/plain",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "VALIDATION_ERROR");
    let (status, body) = raw(
        r#"{"email": 5, "password": "long-enough"}"#,
        "application/json",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body["details"]["email"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    app.send(Method::GET, "/no/such/route", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    app.send(Method::DELETE, "/auth/login", None, &[])
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn system_routes_report_health() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/health", None, &[])
        .await
        .expect(200);
    assert_eq!(r.body["status"], "ok");
    let checks = r.body["checks"].as_object().unwrap();
    assert!(
        !checks.is_empty() && checks.values().all(|v| v == true),
        "{}",
        r.text
    );
    assert!(r.body["timestamp"].is_string() && r.body["wsConnections"].is_number());
    let r = app
        .send(Method::GET, "/readiness", None, &[])
        .await
        .expect(200);
    assert_eq!(r.body, json!({"ready": true}));
    // Not public: authentication by default.
    app.send(Method::GET, "/metrics", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    let r = app
        .send(
            Method::GET,
            "/metrics",
            None,
            &[("x-api-key", crate::helpers::TEST_INTERNAL_KEY)],
        )
        .await
        .expect(200);
    for key in ["uptime", "wsConnections", "tools", "skills", "messages"] {
        assert!(r.body[key].is_number(), "{key}: {}", r.text);
    }
    assert!(r.body["sessions"]["active"].is_number() && r.body["sessions"]["total"].is_number());
    assert!(r.body["billing"]["month"].is_string() && r.body["billing"]["totalCost"].is_number());
    assert!(r.body["cache"]["hits"].is_number());
}

#[tokio::test]
async fn openapi_lists_every_route_and_protected_ones_refuse_anonymous_calls() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = r.body["paths"].as_object().unwrap();
    for expected in [
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/workspaces",
        "/workspaces/{id}",
        "/workspaces/{id}/settings",
        "/workspaces/{id}/members",
        "/workspaces/{id}/members/{uid}",
        "/workspaces/{id}/stats",
        "/workspaces/{id}/grants",
        "/workspaces/{id}/restrictions",
        "/agents",
        "/agents/{id}",
        "/agents/{id}/versions",
        "/agents/{id}/versions/{version}",
        "/agents/{id}/versions/{version}/rollback",
        "/agent/memory/profile",
        "/agent/memory/daily",
        "/agent/memory/daily/{date}",
        "/agent/memory/daily/{date}/{entryIndex}",
        "/agent/memory/notes",
        "/agent/memory/notes/{index}",
        "/agent/memory/search",
        "/memory-profiles",
        "/memory-profiles/{id}",
        "/memory-profiles/agents/{agentId}/memory-profile",
        "/onboarding/setup",
        "/agents/{id}/capabilities",
        "/skills",
        "/skills/{id}",
        "/skills/{id}/metrics",
        "/sessions",
        "/sessions/{id}",
        "/sessions/search/messages",
        "/sessions/{id}/handoff",
        "/costs",
        "/costs/breakdown",
        "/users/me/usage",
        "/traces",
        "/traces/{id}",
        "/admin/health",
        "/admin/agents",
        "/admin/usage/{uid}",
        "/admin/sessions/{uid}",
        "/admin/audit/{uid}",
        "/diagnostics",
        "/diagnostics/quick",
        "/diagnostics/history",
        "/diagnostics/circuit-breakers",
        "/autonomous/run",
        "/autonomous/batch",
        "/webhooks",
        "/webhooks/{id}",
        "/webhooks/{id}/deliveries",
        "/webhooks/{id}/test",
        "/jobs",
        "/jobs/{id}",
        "/heartbeat",
        "/heartbeat/{id}",
        "/heartbeat/{id}/runs",
        "/health",
        "/readiness",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(expected), "missing {expected}");
    }
    assert!(r.body["components"]["securitySchemes"]["bearer"].is_object());
    // Every operation not on the public list refuses a call without credentials.
    for (path, item) in paths {
        let concrete = path.replace(['{', '}'], "");
        for method in item.as_object().unwrap().keys() {
            let public = astra::http::public::PUBLIC_ROUTES
                .iter()
                .any(|(m, p)| m.eq_ignore_ascii_case(method) && p == path);
            if public {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            let r = app.send(m.clone(), &concrete, body, &[]).await;
            assert_eq!(
                r.status, 401,
                "{method} {path} answered {} without credentials",
                r.status
            );
        }
    }
}

#[tokio::test]
async fn shutdown_drains_and_returns_cleanly() {
    let app = spawn_app().await;
    let addr = app.addr;
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}
