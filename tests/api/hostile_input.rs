//! Hostile input over real HTTP (issue #12): generated chat bodies never get a 5xx, and NUL
//! — which PostgreSQL can store neither in text nor in JSONB — is a 400 wherever it comes
//! in (JSON body, path, query) instead of a 500 from the database. The parsing properties
//! themselves run as unit tests (`chat::input::prop`, `validate`).

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::json;

use crate::helpers::{FakeLlm, chat_app};

/// Bodies around the chat schema: JSON syntax pieces, keys, escapes and raw bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "\"message\"",
            "\"agentId\"",
            "\"surface\"",
            "\"webhookUrl\"",
            "\"hi\"",
            "\"chad\"",
            "\"group\"",
            "\"http://127.0.0.1/\"",
            "\\u0000",
            "\\ud800",
            "1e999",
            "null",
            "\"",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 0..4),
    ];
    prop::collection::vec(piece, 0..20).prop_map(|p| p.concat())
}

/// `n` bodies from a fixed seed, plus well-formed ones so some turns really run.
fn bodies(n: usize) -> Vec<Vec<u8>> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = body();
    let mut out: Vec<Vec<u8>> = (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect();
    out.push(br#"{"message": "hi"}"#.to_vec());
    out.push(br#"{"message": "hi", "surface": "group", "surfaceId": "g"}"#.to_vec());
    out
}

#[tokio::test]
async fn generated_chat_bodies_never_get_a_server_error() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mut ok = 0;
    for raw in bodies(64) {
        let res = c
            .app
            .client
            .post(c.app.url("/agent/chat"))
            .bearer_auth(&c.token)
            .header("x-workspace-id", &c.ws)
            .header("content-type", "application/json")
            .body(raw.clone())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            status < 500,
            "{} for {:?}: {}",
            status,
            String::from_utf8_lossy(&raw),
            res.text().await.unwrap_or_default()
        );
        ok += usize::from(status == 200);
    }
    assert!(ok >= 2, "the well-formed bodies ran");
}

#[tokio::test]
async fn nul_is_a_400_wherever_it_comes_in() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let r = c.chat(json!({"message": "a\u{0}b"})).await;
    let r = r.expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["body"].is_string(), "{}", r.text);
    for path in [
        "/sessions/search/messages?q=a%00b",
        "/agent/memory/search?q=a%00b",
        "/jobs/job_%00",
        "/agents/%00x",
    ] {
        let r = c.app.get_as(&c.user, path).await;
        let r = r.expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"]["uri"].is_string(), "{path}: {}", r.text);
    }
    // The refused turn never reached the model.
    assert_eq!(fake.hits(), 0);
}
