//! Security tests: what one tenant (or a viewer) can see of another's objects. The isolation
//! matrix lives in `isolation/matrix.rs` (table) and `isolation/setup.rs` (A's objects); this
//! file holds the focused read-side leaks: job header values and search snippet markup.

mod matrix;
mod setup;
mod table;

use crate::helpers::{FakeLlm, chat_app};
use reqwest::Method;
use serde_json::json;

use crate::{
    helpers::spawn_app,
    webhooks::receiver::{Receiver, eventually},
};

/// The secret header values a job creator sends; no job read may show them.
const SECRET_AUTH: &str = "Bearer sk-live-very-secret-token";
const SECRET_KEY: &str = "key-0123456789-secret";

#[tokio::test]
async fn job_reads_mask_header_values_for_everyone_and_the_worker_sends_them() {
    let app = spawn_app().await;
    let rx = Receiver::start().await;
    let (owner, _, _) = app.register("jobs-owner@example.com").await;
    let ws = app.workspace(&owner, "Jobs").await;
    let (viewer, _, _) = app.register("jobs-viewer@example.com").await;
    app.post(
        &format!("/workspaces/{ws}/members"),
        &owner,
        json!({"email": "jobs-viewer@example.com", "role": "viewer"}),
    )
    .await
    .expect(201);

    let created = app
        .send_ws(
            Method::POST,
            "/jobs",
            &owner,
            &ws,
            Some(json!({"type": "http_request", "payload": {
                "method": "GET", "url": rx.url("/secret"),
                "headers": {"Authorization": SECRET_AUTH, "X-Api-Key": SECRET_KEY}
            }})),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let masked = json!({"Authorization": "***", "X-Api-Key": "***"});
    assert_eq!(
        created.body["payload"]["headers"], masked,
        "{}",
        created.text
    );

    // The worker still sends the real values.
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].header("authorization"), SECRET_AUTH);
    assert_eq!(got[0].header("x-api-key"), SECRET_KEY);
    let job_path = format!("/jobs/{id}");
    eventually(|| async {
        let r = app.send_ws(Method::GET, &job_path, &owner, &ws, None).await;
        (r.body["status"] == "completed").then_some(())
    })
    .await;

    for (who, token) in [("owner", &owner), ("viewer", &viewer)] {
        for path in [job_path.as_str(), "/jobs", "/jobs?status=completed"] {
            let r = app.send_ws(Method::GET, path, token, &ws, None).await;
            assert_eq!(r.status, 200, "{who} {path}: {}", r.text);
            assert!(
                !r.text.contains("very-secret") && !r.text.contains(SECRET_KEY),
                "{who} {path} reads a secret header: {}",
                r.text
            );
            let job = if path == job_path {
                r.body.clone()
            } else {
                r.body["items"][0].clone()
            };
            assert_eq!(job["payload"]["headers"], masked, "{who} {path}");
            assert_eq!(job["payload"]["url"], rx.url("/secret"), "{who} {path}");
        }
    }

    // Cancelling answers the job too: still masked.
    let pending = app
        .send_ws(
            Method::POST,
            "/jobs",
            &owner,
            &ws,
            Some(json!({"type": "http_request", "runAt": "2999-01-01T00:00:00Z", "payload": {
                "method": "GET", "url": rx.url("/later"), "headers": {"Authorization": SECRET_AUTH}
            }})),
        )
        .await
        .expect(201);
    let pending_id = pending.body["id"].as_str().unwrap();
    let r = app
        .send_ws(
            Method::DELETE,
            &format!("/jobs/{pending_id}"),
            &owner,
            &ws,
            None,
        )
        .await
        .expect(200);
    assert_eq!(
        r.body["payload"]["headers"],
        json!({"Authorization": "***"})
    );
    assert!(!r.text.contains("very-secret"), "{}", r.text);
}

/// `snippet` with its `<b>…</b>` marks removed must hold no markup at all.
fn assert_only_bold_markup(snippet: &str) {
    let stripped = snippet.replace("<b>", "").replace("</b>", "");
    assert!(
        !stripped.contains('<') && !stripped.contains('>'),
        "markup besides <b> in the snippet: {snippet}"
    );
    assert!(snippet.contains("<b>"), "no match mark: {snippet}");
}

#[tokio::test]
async fn search_snippets_escape_the_message_before_marking_matches() {
    let fake = FakeLlm::saying("noted").await;
    let c = chat_app(&fake).await;
    // PostgreSQL's parser drops well-formed tags from a headline but keeps a dangling one; SQLite
    // keeps everything: both must come out escaped.
    let hostile = r#"<script>alert(1)</script> budget & "more" 'x' <img src=x onerror=alert(1)"#;
    c.app
        .chat_in(&c.token, &c.ws, json!({"message": hostile}))
        .await
        .expect(200);
    let r = c
        .app
        .get("/sessions/search/messages?q=budget", &c.token)
        .await
        .expect(200);
    let hit = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "user")
        .unwrap_or_else(|| panic!("no hit: {}", r.text))
        .clone();
    let snippet = hit["snippet"].as_str().unwrap();
    assert_only_bold_markup(snippet);
    for piece in [
        "<b>budget</b>",
        "&amp;",
        "&quot;more&quot;",
        "&#39;x&#39;",
        "&lt;img src=x onerror=",
    ] {
        assert!(snippet.contains(piece), "{piece:?} missing in {snippet}");
    }
    if std::env::var("ASTRA_TEST_DATABASE_URL").is_err() {
        // FTS5 keeps the script element in the passage.
        assert!(
            snippet.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{snippet}"
        );
    }
    // The raw content stays the message as written (plain text).
    assert_eq!(hit["content"], hostile);

    // The OpenAPI description of the field says so.
    let doc = c.app.send(Method::GET, "/openapi.json", None, &[]).await;
    let desc =
        &doc.body["components"]["schemas"]["MessageHitOut"]["properties"]["snippet"]["description"];
    assert!(
        desc.as_str().unwrap_or_default().contains("escaped"),
        "snippet description: {desc}"
    );
}
