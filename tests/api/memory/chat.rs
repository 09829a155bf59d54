//! Memory through chat turns: the tools run for real, later turns see the memory in their
//! system prompt, each turn leaves a daily entry, and the memory profile's tiers and TTL
//! shape what the context shows and what decay prunes.

use crate::helpers::{Answer, ChatApp, FakeLlm, agent, chat_app, has_tool_result, last_user_text};
use std::time::Duration as StdDuration;

use astra::memory::decay;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use super::support::daily_at;

fn system_prompt(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn tool_results(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Polls the daily listing until an entry from chat appears.
async fn chat_entries(c: &ChatApp, ws: &str) -> Vec<Value> {
    for _ in 0..100 {
        let r = c
            .app
            .get_in("/agent/memory/daily", &c.token, ws)
            .await
            .expect(200);
        let entries: Vec<Value> = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["entries"].as_array().unwrap().clone())
            .filter(|e| e["source"] == "chat")
            .collect();
        if !entries.is_empty() {
            return entries;
        }
        tokio::time::sleep(StdDuration::from_millis(30)).await;
    }
    Vec::new()
}

#[tokio::test]
async fn tools_write_memory_that_later_turns_see() {
    let fake = FakeLlm::start(|req, _| {
        let asked = last_user_text(req);
        if asked.contains("remember") && !has_tool_result(req) {
            Answer {
                tool_calls: vec![
                    (
                        "memory_write".into(),
                        json!({"content": "The user loves sailing on fjords", "tier": "note", "tags": ["hobby"]}).to_string(),
                    ),
                    (
                        "profile_update".into(),
                        json!({"set": {"name": "Ada", "timezone": "Europe/Oslo"}, "remove": ["nothing"]}).to_string(),
                    ),
                    (
                        "memory_write".into(),
                        json!({"content": "Talked about weekend plans", "tier": "daily"}).to_string(),
                    ),
                ],
                usage: (12, 7),
                ..Default::default()
            }
        } else if asked.contains("search") && !has_tool_result(req) {
            Answer::tool("memory_search", json!({"query": "sailing", "topK": 3}))
        } else {
            Answer::text("Noted.")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let r = c
        .chat(json!({"message": "please remember that I love sailing"}))
        .await
        .expect(200);
    assert_eq!(
        r.body["toolsUsed"].as_array().unwrap().len(),
        2,
        "{}",
        r.text
    );
    // The memory tools were offered to the model.
    let offered: Vec<String> = fake.request(0)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    for name in ["memory_search", "memory_write", "profile_update"] {
        assert!(
            offered.iter().any(|o| o == name),
            "{name} not offered: {offered:?}"
        );
    }
    let results = tool_results(&fake.request(1));
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| !r.contains("error")), "{results:?}");

    let profile = c
        .app
        .get("/agent/memory/profile", &c.token)
        .await
        .expect(200);
    assert_eq!(
        profile.body["profile"],
        json!({"name": "Ada", "timezone": "Europe/Oslo"})
    );
    let notes = c.app.get("/agent/memory/notes", &c.token).await.expect(200);
    assert_eq!(
        notes.body["items"][0]["content"],
        "The user loves sailing on fjords"
    );
    assert_eq!(notes.body["items"][0]["source"], "tool");
    assert_eq!(notes.body["items"][0]["tags"], json!(["hobby"]));

    // A later turn, in another session, has the memory in its system prompt.
    c.chat(json!({"message": "what do I like? sailing?", "surfaceId": "later"}))
        .await
        .expect(200);
    let prompt = system_prompt(&fake.last_request());
    assert!(prompt.contains("## Memory"), "{prompt}");
    assert!(prompt.contains("- name: Ada"), "{prompt}");
    assert!(
        prompt.contains("(note) The user loves sailing on fjords"),
        "{prompt}"
    );

    // memory_search answers with the same items as the route.
    c.chat(json!({"message": "search your memory", "surfaceId": "s"}))
        .await
        .expect(200);
    let result: Value = serde_json::from_str(&tool_results(&fake.last_request())[0]).unwrap();
    let items = result["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.len() <= 3, "{result}");
    assert_eq!(items[0]["score"], 1.0);
    assert!(items.iter().any(|i| i["tier"] == "note"), "{result}");
}

#[tokio::test]
async fn a_template_without_the_placeholder_gets_a_memory_block_appended() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("plain", json!({"skills": ["memory"]})))
        .await;
    c.app
        .put(
            "/agent/memory/profile",
            &c.token,
            json!({"profile": {"dog": "Biscuit"}}),
        )
        .await
        .expect(200);
    c.chat(json!({"message": "hello", "agentId": "plain"}))
        .await
        .expect(200);
    let prompt = system_prompt(&fake.last_request());
    assert!(prompt.starts_with("You are plain."), "{prompt}");
    assert!(prompt.contains("\n\n## Memory\n"), "{prompt}");
    assert!(prompt.contains("- dog: Biscuit"), "{prompt}");
}

#[tokio::test]
async fn each_successful_turn_leaves_a_daily_entry() {
    let fake = FakeLlm::saying("Lisbon is lovely in May.").await;
    let c = chat_app(&fake).await;
    let long = format!("Plan a trip to Lisbon {}", "please ".repeat(60));
    c.chat(json!({"message": long})).await.expect(200);
    let entries = chat_entries(&c, &c.ws).await;
    assert_eq!(entries.len(), 1, "no daily entry from the turn");
    let content = entries[0]["content"].as_str().unwrap();
    assert!(
        content.starts_with("User: Plan a trip to Lisbon please"),
        "{content}"
    );
    assert!(
        content.contains("…\nAssistant: Lisbon is lovely in May."),
        "{content}"
    );
    // A failed turn leaves none.
    let failing = FakeLlm::start(|_, _| Answer::error(400)).await;
    let c2 = chat_app(&failing).await;
    c2.chat(json!({"message": "this fails"})).await;
    tokio::time::sleep(StdDuration::from_millis(200)).await;
    let r = c2
        .app
        .get("/agent/memory/daily", &c2.token)
        .await
        .expect(200);
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn the_memory_profile_shapes_context_and_decay_prunes_expired_entries() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let store = c.store().await;
    let user_id = {
        let r = c
            .app
            .get("/agent/memory/profile", &c.token)
            .await
            .expect(200);
        assert_eq!(r.body["profile"], json!({}));
        // The user id, from a workspace listing of members.
        let ws = c
            .app
            .get(&format!("/workspaces/{}", c.ws), &c.token)
            .await
            .expect(200);
        ws.body["ownerId"].as_str().unwrap().to_string()
    };
    // A workspace whose only agent keeps two days of memory and no notes.
    let ws = c.app.workspace(&c.token, "Decay").await;
    let mp = c
        .app
        .send_ws(
            Method::POST,
            "/memory-profiles",
            &c.token,
            &ws,
            Some(json!({"name": "Short", "ttlDays": 2, "tiersEnabled": {"notes": false}})),
        )
        .await
        .expect(201);
    let mut cfg = agent("brief", json!({"memoryProfileId": mp.body["id"]}));
    cfg["systemPromptTemplate"] = json!("You are brief.\n{{memory}}");
    c.app
        .send_ws(Method::POST, "/agents", &c.token, &ws, Some(cfg))
        .await
        .expect(201);
    let now = Utc::now();
    daily_at(
        &store,
        &user_id,
        &ws,
        "old zebra sighting",
        now - Duration::days(5),
    )
    .await;
    daily_at(&store, &user_id, &ws, "new zebra sighting", now).await;
    c.app
        .send_ws(
            Method::POST,
            "/agent/memory/notes",
            &c.token,
            &ws,
            Some(json!({"content": "zebra note"})),
        )
        .await
        .expect(201);
    // The onboarded workspace keeps memory forever (its agents have no TTL).
    daily_at(
        &store,
        &user_id,
        &c.ws,
        "old zebra elsewhere",
        now - Duration::days(5),
    )
    .await;

    c.app
        .send_ws(
            Method::POST,
            "/agent/chat",
            &c.token,
            &ws,
            Some(json!({"message": "any zebra news?", "agentId": "brief"})),
        )
        .await
        .expect(200);
    let prompt = system_prompt(&fake.last_request());
    assert!(prompt.contains("new zebra sighting"), "{prompt}");
    assert!(!prompt.contains("old zebra sighting"), "{prompt}");
    assert!(!prompt.contains("zebra note"), "{prompt}");
    assert!(!prompt.contains("elsewhere"), "{prompt}");

    // Wait for the turn's own daily entry so decay runs on a settled table.
    assert_eq!(chat_entries(&c, &ws).await.len(), 1);
    let report = decay::run_once(&store, Utc::now()).await.unwrap();
    assert_eq!(report.entries, 1);
    let r = c
        .app
        .get_in("/agent/memory/daily?days=30", &c.token, &ws)
        .await
        .expect(200);
    let text = r.text.clone();
    assert!(
        text.contains("new zebra sighting") && !text.contains("old zebra sighting"),
        "{text}"
    );
    let r = c
        .app
        .get("/agent/memory/daily?days=30", &c.token)
        .await
        .expect(200);
    assert!(r.text.contains("old zebra elsewhere"), "{}", r.text);
    let r = c
        .app
        .get_in("/agent/memory/notes", &c.token, &ws)
        .await
        .expect(200);
    assert_eq!(r.body["total"], 1, "notes never expire");
}
