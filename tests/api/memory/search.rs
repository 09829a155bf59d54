//! Search ranks hits from every tier on one normalised scale, honours topK, stems words and
//! reads punctuation as plain text.

use astra::store::{MessageRow, SessionRow, Store};
use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Mem, daily_at, mem_app};

/// A session of the user with one user message, written the way chat writes it.
async fn session_message(store: &Store, m: &Mem, text: &str) -> String {
    let now = Utc::now();
    let session = SessionRow {
        id: format!("ses_{}", uuid::Uuid::now_v7().simple()),
        user_id: m.user.id.clone(),
        workspace_id: m.user.ws.clone(),
        agent_id: "chad".into(),
        surface: "chat".into(),
        surface_id: "main".into(),
        status: "active".into(),
        summary: None,
        summary_until: None,
        message_count: 0,
        created_at: now,
        last_active_at: now,
        archived_at: None,
    };
    store.sessions().insert_session(&session).await.unwrap();
    let message = MessageRow {
        id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
        session_id: session.id.clone(),
        role: "user".into(),
        content: text.into(),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: now,
    };
    store
        .sessions()
        .append_messages(&session.id, &[message], now)
        .await
        .unwrap();
    session.id
}

fn scores(items: &[Value]) -> Vec<f64> {
    items.iter().map(|i| i["score"].as_f64().unwrap()).collect()
}

/// Keyword ranking pinned (`mode=keyword`): the hybrid default would also fuse whatever the
/// background indexer embedded by then, which makes counts depend on timing.
#[tokio::test]
async fn hits_from_every_tier_are_ranked_on_one_scale() {
    let m = mem_app("mem-rank").await;
    let store = m.app.store().await;
    m.call(
        Method::PUT,
        "/agent/memory/profile",
        Some(json!({"profile": {"favoriteColor": "teal", "city": "Oslo"}})),
    )
    .await
    .expect(200);
    m.call(
        Method::POST,
        "/agent/memory/notes",
        Some(json!({"content": "teal teal teal"})),
    )
    .await
    .expect(201);
    m.call(
        Method::POST,
        "/agent/memory/notes",
        Some(json!({"content": "nothing to see here"})),
    )
    .await
    .expect(201);
    let entry = daily_at(
        &store,
        &m.user.id,
        &m.user.ws,
        "Long planning call about the garden shed, the fence, the roof tiles, the budget for \
         the spring, the neighbours, and finally which teal paint to buy for the door",
        Utc::now(),
    )
    .await;
    let session_id = session_message(
        &store,
        &m,
        "Could you remind me which shade of teal we picked for the kitchen chairs last week?",
    )
    .await;

    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=teal&topK=10",
            None,
        )
        .await
        .expect(200);
    let items = r.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4, "{}", r.text);
    // The note says it three times in three words: the best hit, scoring exactly 1.
    assert_eq!(items[0]["tier"], "note", "{}", r.text);
    assert_eq!(items[0]["index"], 0);
    assert_eq!(items[0]["score"], 1.0);
    let s = scores(&items);
    assert!(s.windows(2).all(|w| w[0] >= w[1]), "{s:?}");
    assert!(s.iter().all(|v| *v > 0.0 && *v <= 1.0), "{s:?}");
    let by_tier = |tier: &str| items.iter().find(|i| i["tier"] == tier).unwrap().clone();
    let profile = by_tier("profile");
    assert_eq!(profile["content"], "favoriteColor: teal");
    assert!(profile.get("index").is_none() && profile.get("date").is_none());
    let daily = by_tier("daily");
    assert_eq!(daily["date"], entry.day.as_str());
    assert_eq!(daily["index"], entry.idx);
    let session = by_tier("session");
    assert_eq!(session["sessionId"], session_id.as_str());
    assert!(session["createdAt"].is_string());

    // topK caps the list and keeps the best.
    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=teal&topK=2",
            None,
        )
        .await
        .expect(200);
    let top: Vec<Value> = r.body["items"].as_array().unwrap().clone();
    assert_eq!(top.len(), 2);
    assert_eq!(top[0]["tier"], "note");
    assert_eq!(top[1]["content"], items[1]["content"]);
    // The default topK is 5.
    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=teal",
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 4);

    // Words are stemmed on both engines, several words match any of them, and query
    // punctuation is plain text rather than search syntax.
    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=chair",
            None,
        )
        .await
        .expect(200);
    assert_eq!(r.body["items"][0]["tier"], "session", "{}", r.text);
    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=%22Oslo%22%20OR%20(shed*)%20-NEAR",
            None,
        )
        .await
        .expect(200);
    let tiers: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tier"].as_str().unwrap())
        .collect();
    assert!(
        tiers.contains(&"profile") && tiers.contains(&"daily"),
        "{}",
        r.text
    );

    // Replacing the profile and deleting entries takes them out of the index.
    m.call(
        Method::PUT,
        "/agent/memory/profile",
        Some(json!({"profile": {"city": "Oslo"}})),
    )
    .await
    .expect(200);
    m.call(Method::DELETE, "/agent/memory/notes/0", None)
        .await
        .expect(204);
    let r = m
        .call(
            Method::GET,
            "/agent/memory/search?mode=keyword&q=teal&topK=10",
            None,
        )
        .await
        .expect(200);
    let tiers: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers.len(), 2, "{}", r.text);
    assert!(!tiers.contains(&"note") && !tiers.contains(&"profile"));
    assert_eq!(r.body["items"][0]["score"], 1.0);
}
