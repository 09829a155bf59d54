//! `GET /agents/{id}/capabilities` and the check of skills and tools against the registries.

use astra::tools::{SearchBackend, WebSearchConfig};
use reqwest::Method;
use serde_json::json;

use super::{agent, global};
use crate::helpers::{spawn_app, spawn_app_with};

fn names(body: &serde_json::Value) -> Vec<(String, Option<String>)> {
    body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["skill"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test]
async fn capabilities_expand_skills_and_apply_deny() {
    let app = spawn_app_with(|c| {
        c.tools.web_search = Some(WebSearchConfig {
            backend: SearchBackend::Searxng {
                base_url: "http://searx.invalid".parse().unwrap(),
            },
        });
    })
    .await;
    let (token, _, _) = app.register("caps@example.com").await;
    let ws = app.workspace(&token, "Caps").await;
    let mut body = agent("capable");
    body["skills"] = json!(["utilities", "web_research", "memory"]);
    body["tools"] =
        json!({"allow": ["http_request", "current_time"], "deny": ["calculator", "fetch_page"]});
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(body))
        .await
        .expect(201);
    let member_token = token.clone();
    let r = app
        .get_in("/agents/capable/capabilities", &member_token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["agentId"], "capable");
    assert_eq!(
        r.body["skills"],
        json!(["utilities", "web_research", "memory"])
    );
    assert_eq!(r.body["deny"], json!(["calculator", "fetch_page"]));
    // Allow list first (a tool named there is attributed to it), then skill tools in order;
    // denied tools are left out.
    let expected = [
        ("http_request", None),
        ("current_time", None),
        ("web_search", Some("web_research")),
        ("memory_search", Some("memory")),
        ("memory_write", Some("memory")),
        ("profile_update", Some("memory")),
    ];
    let expected: Vec<(String, Option<String>)> = expected
        .iter()
        .map(|(n, s)| (n.to_string(), s.map(str::to_string)))
        .collect();
    assert_eq!(names(&r.body), expected, "{}", r.text);
    let search = &r.body["tools"][2];
    assert!(search["description"].as_str().unwrap().len() > 10);
    assert_eq!(search["parameters"]["type"], "object");
    app.get_in("/agents/nobody/capabilities", &token, &ws)
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn unconfigured_tools_are_not_offered_and_globals_have_capabilities() {
    let app = spawn_app_with(|c| c.file.agents = vec![global("oracle", "Oracle")]).await;
    let (token, _, _) = app.register("caps2@example.com").await;
    let ws = app.workspace(&token, "Caps2").await;
    let r = app
        .get_in("/agents/oracle/capabilities", &token, &ws)
        .await
        .expect(200);
    let expected = vec![
        ("current_time".to_string(), Some("utilities".to_string())),
        ("calculator".to_string(), Some("utilities".to_string())),
    ];
    assert_eq!(names(&r.body), expected);
    let mut body = agent("researcher");
    body["skills"] = json!(["web_research"]);
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(body))
        .await
        .expect(201);
    let r = app
        .get_in("/agents/researcher/capabilities", &token, &ws)
        .await
        .expect(200);
    // No search backend is configured, so only fetch_page remains.
    assert_eq!(
        names(&r.body),
        vec![("fetch_page".to_string(), Some("web_research".to_string()))]
    );
}

#[tokio::test]
async fn unknown_skills_and_tools_are_refused() {
    let app = spawn_app().await;
    let (token, _, _) = app.register("caps3@example.com").await;
    let ws = app.workspace(&token, "Caps3").await;
    let mut body = agent("typo");
    body["skills"] = json!(["utilities", "web_reserch"]);
    body["tools"] = json!({"allow": ["calculater"], "deny": ["rm_rf"]});
    let r = app
        .send_ws(Method::POST, "/agents", &token, &ws, Some(body))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let d = &r.body["details"];
    assert!(
        d["skills"].as_str().unwrap().contains("web_reserch"),
        "{}",
        r.text
    );
    assert!(d["tools.allow"].as_str().unwrap().contains("calculater"));
    assert!(d["tools.deny"].as_str().unwrap().contains("rm_rf"));
    // Registered but unavailable tools may be named (they become available later).
    let mut ok = agent("later");
    ok["tools"] = json!({"allow": ["memory_search"]});
    app.send_ws(Method::POST, "/agents", &token, &ws, Some(ok))
        .await
        .expect(201);
}

#[tokio::test]
async fn a_global_agent_with_an_unknown_skill_stops_start_up() {
    let db = crate::helpers::TestDb::new().await;
    let mut config = crate::helpers::test_config(&db);
    let mut bad = global("lost", "Lost");
    bad["skills"] = json!(["telepathy"]);
    config.file.agents = vec![bad];
    let text = crate::helpers::startup_error(config).await;
    assert!(
        text.contains("lost") && text.contains("telepathy"),
        "{text}"
    );
}
