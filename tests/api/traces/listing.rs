//! GET /traces and GET /traces/:id over real chat turns, including a failed one.

use crate::helpers::{Answer, FakeLlm, User, agent, chat_app, last_user_text};
use serde_json::json;

#[tokio::test]
async fn traces_list_newest_first_filter_by_agent_and_show_detail() {
    let fake = FakeLlm::start(|req, _| {
        if last_user_text(req) == "fail" {
            Answer::error(400)
        } else {
            Answer::text("ok")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("helper", json!({}))).await;
    c.chat(json!({"message": "one"})).await.expect(200);
    c.chat(json!({"message": "two", "agentId": "helper"}))
        .await
        .expect(200);
    c.chat(json!({"message": "fail"}))
        .await
        .expect_error(502, "PROVIDER_ERROR");
    let newest = c.chat(json!({"message": "three"})).await.expect(200);

    let r = c.app.get("/traces", &c.token).await.expect(200);
    assert_eq!(r.body["total"], 4, "{}", r.text);
    let items = r.body["items"].as_array().unwrap();
    let first = &items[0];
    assert_eq!(first["sessionId"], newest.body["sessionId"]);
    assert!(first["id"].as_str().unwrap().starts_with("trc_"));
    assert_eq!(
        (first["status"].as_str(), first["agentId"].as_str()),
        (Some("ok"), Some("chad"))
    );
    assert_eq!(
        (
            first["promptTokens"].as_i64(),
            first["completionTokens"].as_i64(),
            first["totalTokens"].as_i64()
        ),
        (Some(10), Some(5), Some(15))
    );
    assert!(first["costUsd"].as_f64().unwrap() > 0.0 && first["durationMs"].is_number());
    assert!(
        first["startedAt"].is_string()
            && first["finishedAt"].is_string()
            && first["userId"].is_string()
    );
    assert!(first.get("detail").is_none(), "summaries carry no detail");
    let started: Vec<&str> = items
        .iter()
        .map(|t| t["startedAt"].as_str().unwrap())
        .collect();
    let mut sorted = started.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(started, sorted);
    let failed = &items[1];
    assert_eq!(failed["status"], "error");
    assert!(failed["error"].is_string());

    let helper = c
        .app
        .get("/traces?agentId=helper", &c.token)
        .await
        .expect(200);
    assert_eq!(helper.body["total"], 1);
    assert_eq!(helper.body["items"][0]["agentId"], "helper");
    let page = c
        .app
        .get("/traces?limit=2&offset=3", &c.token)
        .await
        .expect(200);
    assert_eq!(
        (
            page.body["items"].as_array().unwrap().len(),
            page.body["total"].as_i64()
        ),
        (1, Some(4))
    );
    for q in [
        "limit=0",
        "limit=101",
        "offset=-1",
        &format!("agentId={}", "a".repeat(65)),
    ] {
        c.app
            .get(&format!("/traces?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }

    let id = first["id"].as_str().unwrap();
    let d = c
        .app
        .get(&format!("/traces/{id}"), &c.token)
        .await
        .expect(200);
    assert_eq!(d.body["id"], id);
    let inference = d.body["detail"]["inference"].as_array().unwrap();
    assert_eq!(inference.len(), 1);
    assert_eq!(
        (
            inference[0]["provider"].as_str(),
            inference[0]["model"].as_str()
        ),
        (Some("openai"), Some("gpt-4o-mini"))
    );
    assert!(d.body["detail"]["tools"].is_array() && d.body["detail"]["breakers"].is_array());
    // The process that ran the turn (its replica id), for clusters.
    assert!(d.body["detail"]["replica"].is_string(), "{}", d.body);
    let failed_detail = c
        .app
        .get(
            &format!("/traces/{}", failed["id"].as_str().unwrap()),
            &c.token,
        )
        .await
        .expect(200);
    assert!(
        !failed_detail.body["detail"]["failedAttempts"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        failed_detail.text
    );

    // Other workspaces see nothing, even with the id.
    let User {
        token: other,
        ws: other_ws,
        ..
    } = c.app.onboarded_user("traces-other@example.com").await;
    c.app
        .get_in(&format!("/traces/{id}"), &other, &other_ws)
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        c.app
            .get_in("/traces", &other, &other_ws)
            .await
            .expect(200)
            .body["total"],
        0
    );
    c.app
        .get_in("/traces", &other, &c.ws)
        .await
        .expect_error(403, "FORBIDDEN");
    let second = c.app.workspace(&c.token, "Second").await;
    c.app
        .get_in(&format!("/traces/{id}"), &c.token, &second)
        .await
        .expect_error(404, "NOT_FOUND");
    c.app
        .get("/traces/trc_missing", &c.token)
        .await
        .expect_error(404, "NOT_FOUND");
}
