//! /autonomous/*: agent turns run by backend services for a user, alone or in batches.

use crate::helpers::{Answer, FakeLlm, User, last_user_text, use_fake};
use serde_json::json;

use crate::helpers::{TestApp, spawn_app_with};

async fn app_with_echo() -> (TestApp, FakeLlm) {
    let fake =
        FakeLlm::start(|req, _| Answer::text(&format!("done: {}", last_user_text(req)))).await;
    let app = spawn_app_with(|c| use_fake(c, &fake)).await;
    (app, fake)
}

#[tokio::test]
async fn run_answers_like_chat_on_the_prop_surface() {
    let (app, fake) = app_with_echo().await;
    let User {
        token, id: uid, ws, ..
    } = app.onboarded_user("auto-run@example.com").await;
    let r = app
        .key_post(
            "/autonomous/run",
            json!({"uid": uid, "taskMessage": "Summarize overnight alerts"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (r.body["uid"].as_str(), r.body["agentId"].as_str()),
        (Some(uid.as_str()), Some("chad"))
    );
    assert_eq!(r.body["content"], "done: Summarize overnight alerts");
    assert_eq!(
        r.body["usage"],
        json!({"promptTokens": 10, "completionTokens": 5, "totalTokens": 15})
    );
    assert_eq!(r.body["toolsUsed"], json!([]));
    assert_eq!(fake.hits(), 1);
    // The turn lives in the user's session list like any other.
    let session = r.body["sessionId"].as_str().unwrap();
    let s = app
        .get(&format!("/sessions/{session}"), &token)
        .await
        .expect(200);
    assert_eq!(
        (
            s.body["surface"].as_str(),
            s.body["surfaceId"].as_str(),
            s.body["workspaceId"].as_str()
        ),
        (Some("prop"), Some("main"), Some(ws.as_str()))
    );
    // Explicit agent, workspace and surface id; the same key continues the session.
    let again = app
        .key_post(
            "/autonomous/run",
            json!({"uid": uid, "agentId": "chad", "taskMessage": "more", "workspaceId": ws}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["sessionId"], session);
    let other = app.key_post("/autonomous/run",
        json!({"uid": uid, "agentId": "researcher", "taskMessage": "dig", "surfaceId": "nightly"}),
    )
    .await
    .expect(200);
    assert_eq!(other.body["agentId"], "researcher");
    assert_ne!(other.body["sessionId"], session);
}

#[tokio::test]
async fn run_refuses_unknown_users_foreign_workspaces_and_bad_bodies() {
    let (app, fake) = app_with_echo().await;
    let User { id: uid, .. } = app.onboarded_user("auto-a@example.com").await;
    let User { ws: other_ws, .. } = app.onboarded_user("auto-b@example.com").await;
    let (_, homeless, _) = app.register("auto-homeless@example.com").await;
    app.key_post(
        "/autonomous/run",
        json!({"uid": "usr_nobody", "taskMessage": "x"}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    app.key_post(
        "/autonomous/run",
        json!({"uid": uid, "taskMessage": "x", "workspaceId": other_ws}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.key_post(
        "/autonomous/run",
        json!({"uid": homeless, "taskMessage": "x"}),
    )
    .await
    .expect_error(409, "CONFLICT");
    app.key_post(
        "/autonomous/run",
        json!({"uid": uid, "taskMessage": "x", "agentId": "nobody"}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    for (body, field) in [
        (json!({"uid": uid}), "taskMessage"),
        (json!({"uid": uid, "taskMessage": ""}), "taskMessage"),
        (
            json!({"uid": uid, "taskMessage": "x".repeat(10_001)}),
            "taskMessage",
        ),
        (json!({"taskMessage": "x"}), "uid"),
        (json!({"uid": "", "taskMessage": "x"}), "uid"),
        (
            json!({"uid": uid, "taskMessage": "x", "surface": "web"}),
            "surface",
        ),
    ] {
        let r = app
            .key_post("/autonomous/run", body)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{field}: {}", r.text);
    }
    assert_eq!(fake.hits(), 0);
}

#[tokio::test]
async fn batch_answers_200_when_all_succeed_and_207_on_partial_failure() {
    let (app, fake) = app_with_echo().await;
    let mut uids = Vec::new();
    for i in 0..5 {
        uids.push(
            app.onboarded_user(&format!("auto-batch-{i}@example.com"))
                .await
                .id,
        );
    }
    let ok = app
        .key_post(
            "/autonomous/batch",
            json!({"uids": uids, "taskMessage": "daily digest"}),
        )
        .await
        .expect(200);
    let results = ok.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    for (r, uid) in results.iter().zip(&uids) {
        assert_eq!(
            (r["uid"].as_str(), r["status"].as_i64()),
            (Some(uid.as_str()), Some(200))
        );
        assert_eq!(r["content"], "done: daily digest");
        assert!(r["sessionId"].is_string() && r["usage"]["totalTokens"] == 15);
    }
    assert_eq!(fake.hits(), 5);
    let mixed = vec![uids[0].clone(), "usr_nobody".to_string(), uids[1].clone()];
    let partial = app
        .key_post(
            "/autonomous/batch",
            json!({"uids": mixed, "agentId": "chad", "taskMessage": "again"}),
        )
        .await
        .expect(207);
    let results = partial.body["results"].as_array().unwrap();
    assert_eq!(
        results
            .iter()
            .map(|r| r["status"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![200, 404, 200]
    );
    assert_eq!(results[1]["uid"], "usr_nobody");
    assert_eq!(results[1]["error"]["code"], "NOT_FOUND");
    assert!(results[1]["error"]["message"].is_string() && results[1].get("content").is_none());
    assert_eq!(results[2]["content"], "done: again");
    let all_bad = app
        .key_post(
            "/autonomous/batch",
            json!({"uids": ["usr_a", "usr_b"], "taskMessage": "x"}),
        )
        .await
        .expect(207);
    assert_eq!(all_bad.body["results"].as_array().unwrap().len(), 2);
    let too_many: Vec<String> = (0..51).map(|i| format!("usr_{i}")).collect();
    for (body, field) in [
        (json!({"uids": [], "taskMessage": "x"}), "uids"),
        (json!({"uids": too_many, "taskMessage": "x"}), "uids"),
        (
            json!({"uids": [uids[0], uids[0]], "taskMessage": "x"}),
            "uids",
        ),
        (json!({"uids": [uids[0]], "taskMessage": ""}), "taskMessage"),
    ] {
        let r = app
            .key_post("/autonomous/batch", body)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{field}: {}", r.text);
    }
}

#[tokio::test]
async fn sixty_requests_a_minute_then_429_with_retry_after() {
    let (app, _fake) = app_with_echo().await;
    for _ in 0..60 {
        // Cheap refused requests still count: the limit guards the key, not the work.
        app.key_post("/autonomous/run", json!({})).await.expect(400);
    }
    let r = app
        .key_post(
            "/autonomous/batch",
            json!({"uids": ["usr_x"], "taskMessage": "x"}),
        )
        .await
        .expect_error(429, "RATE_LIMIT");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
}
