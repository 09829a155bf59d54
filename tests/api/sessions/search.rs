//! GET /sessions/search/messages: full-text search over the caller's messages, ranked.

use crate::helpers::{FakeLlm, User, chat_app};
use serde_json::{Value, json};

fn contents(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_finds_ranks_and_isolates_messages() {
    let fake = FakeLlm::saying("noted").await;
    let c = chat_app(&fake).await;
    for (text, surface) in [
        (
            "The quarterly budget review is on Friday with the finance people",
            "main",
        ),
        ("Lunch with the design team tomorrow", "main"),
        ("Budget alert: budget overrun, budget frozen", "ops"),
    ] {
        c.chat(json!({"message": text, "surfaceId": surface}))
            .await
            .expect(200);
    }
    let User {
        token: other,
        ws: other_ws,
        ..
    } = c.app.onboarded_user("search-other@example.com").await;
    c.app
        .chat_in(
            &other,
            &other_ws,
            json!({"message": "my own budget secrets"}),
        )
        .await
        .expect(200);

    let r = c
        .app
        .get("/sessions/search/messages?q=budget", &c.token)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 2, "{}", r.text);
    let found = contents(&r.body);
    // Three mentions in a short message outrank one in a long message.
    assert!(found[0].starts_with("Budget alert"), "{found:?}");
    assert!(found[1].starts_with("The quarterly"), "{found:?}");
    let top = &r.body["items"][0];
    let second = &r.body["items"][1];
    assert!(
        top["score"].as_f64().unwrap() > second["score"].as_f64().unwrap(),
        "{}",
        r.text
    );
    for key in [
        "messageId",
        "sessionId",
        "agentId",
        "role",
        "snippet",
        "content",
        "createdAt",
    ] {
        assert!(top[key].is_string(), "{key}: {top}");
    }
    assert_eq!(
        (top["role"].as_str(), top["agentId"].as_str()),
        (Some("user"), Some("chad"))
    );
    assert!(
        top["snippet"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("<b>budget</b>"),
        "{top}"
    );
    // The session of a hit is the caller's and holds the message.
    let session = top["sessionId"].as_str().unwrap();
    let detail = c
        .app
        .get(&format!("/sessions/{session}"), &c.token)
        .await
        .expect(200);
    assert!(
        detail.body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == top["messageId"])
    );

    // Web-search syntax: phrases, exclusion, or; case-insensitive.
    let phrase = c
        .app
        .get("/sessions/search/messages?q=%22design%20team%22", &c.token)
        .await
        .expect(200);
    assert_eq!(
        contents(&phrase.body),
        vec!["Lunch with the design team tomorrow"]
    );
    let excluded = c
        .app
        .get("/sessions/search/messages?q=BUDGET%20-overrun", &c.token)
        .await
        .expect(200);
    assert_eq!(excluded.body["total"], 1);
    assert!(contents(&excluded.body)[0].starts_with("The quarterly"));
    let either = c
        .app
        .get("/sessions/search/messages?q=lunch%20or%20friday", &c.token)
        .await
        .expect(200);
    assert_eq!(either.body["total"], 2);
    let none = c
        .app
        .get("/sessions/search/messages?q=secrets", &c.token)
        .await
        .expect(200);
    assert_eq!(
        none.body["total"], 0,
        "another user's message leaked: {}",
        none.text
    );
    // Operators of the engine's own syntax are plain text here.
    c.app
        .get(
            "/sessions/search/messages?q=NEAR(budget%20*)%20AND",
            &c.token,
        )
        .await
        .expect(200);
    // limit caps the items, not the total.
    let one = c
        .app
        .get("/sessions/search/messages?q=budget&limit=1", &c.token)
        .await
        .expect(200);
    assert_eq!(
        (
            one.body["items"].as_array().unwrap().len(),
            one.body["total"].as_i64()
        ),
        (1, Some(2))
    );
    // The workspace header narrows the search.
    let second = c.app.workspace(&c.token, "Empty").await;
    let narrowed = c
        .app
        .get_in("/sessions/search/messages?q=budget", &c.token, &second)
        .await
        .expect(200);
    assert_eq!(narrowed.body["total"], 0);
}

#[tokio::test]
async fn search_validates_its_parameters() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let long = "x".repeat(201);
    for q in ["", "q=", "q=%20%20", &format!("q={long}")] {
        let r = c
            .app
            .get(&format!("/sessions/search/messages?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"]["q"].is_string(), "{q}: {}", r.text);
    }
    for q in ["q=a&limit=0", "q=a&limit=101"] {
        let r = c
            .app
            .get(&format!("/sessions/search/messages?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"]["limit"].is_string(), "{q}: {}", r.text);
    }
}
