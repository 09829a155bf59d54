//! Semantic memory (issue #18): the background batcher embeds every new chunk with the
//! offline hashing embedder, and hybrid search (full-text + vectors, fused by RRF) finds typos
//! and partial words full-text misses, says which rankings each hit came from, and keeps the
//! vector index per user per workspace.

use reqwest::Method;
use serde_json::{Value, json};

use super::support::{Mem, indexed, mem_app};

async fn note(m: &Mem, content: &str) {
    m.call(
        Method::POST,
        "/agent/memory/notes",
        Some(json!({"content": content})),
    )
    .await
    .expect(201);
}

async fn search(m: &Mem, query: &str) -> Value {
    m.call(Method::GET, &format!("/agent/memory/search?{query}"), None)
        .await
        .expect(200)
        .body["items"]
        .clone()
}

fn contents(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn hybrid_search_finds_typos_and_partial_words_that_keyword_search_misses() {
    let m = mem_app("mem-sem-a").await;
    let store = m.app.store().await;
    note(
        &m,
        "Finished the marmalade batch: twelve jars of Seville orange",
    )
    .await;
    note(
        &m,
        "Photography hobby: shoots on a Fujifilm, mostly street scenes",
    )
    .await;
    note(&m, "Quarterly tax report sent to the accountant").await;
    m.call(
        Method::PUT,
        "/agent/memory/profile",
        Some(json!({"profile": {"homeCity": "Rotterdam"}})),
    )
    .await
    .expect(200);
    indexed(&store).await;

    // A typo, a partial word and a misspelt city: full-text finds none of them.
    for q in ["marmelade", "photo", "Roterdam"] {
        let keyword = search(&m, &format!("q={q}&mode=keyword")).await;
        assert_eq!(keyword, json!([]), "{q}");
    }
    let hits = search(&m, "q=marmelade").await;
    assert_eq!(
        contents(&hits)[0],
        "Finished the marmalade batch: twelve jars of Seville orange"
    );
    assert_eq!(hits[0]["matchedBy"], json!(["vector"]));
    assert_eq!(hits[0]["vectorRank"], 1);
    assert!(hits[0].get("keywordRank").is_none());
    assert_eq!(hits[0]["score"], 1.0);
    assert!(
        !contents(&hits).iter().any(|c| c.contains("tax report")),
        "{hits}"
    );
    let hits = search(&m, "q=photo&mode=hybrid").await;
    assert!(
        contents(&hits)[0].starts_with("Photography hobby"),
        "{hits}"
    );
    let hits = search(&m, "q=Roterdam&mode=vector").await;
    assert_eq!(contents(&hits)[0], "homeCity: Rotterdam");
    assert_eq!(hits[0]["tier"], "profile");

    // A word both rankings find is reported from both; keyword mode says keyword only.
    let hits = search(&m, "q=marmalade%20jars").await;
    assert_eq!(hits[0]["matchedBy"], json!(["keyword", "vector"]), "{hits}");
    let hits = search(&m, "q=marmalade&mode=keyword").await;
    assert_eq!(hits[0]["matchedBy"], json!(["keyword"]));
    assert!(hits[0].get("vectorRank").is_none());
}

#[tokio::test]
async fn the_mode_parameter_is_validated() {
    let m = mem_app("mem-sem-b").await;
    for bad in ["semantic", "", "HYBRID"] {
        m.call(
            Method::GET,
            &format!("/agent/memory/search?q=tea&mode={bad}"),
            None,
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    }
    for good in ["keyword", "vector", "hybrid"] {
        m.call(
            Method::GET,
            &format!("/agent/memory/search?q=tea&mode={good}"),
            None,
        )
        .await
        .expect(200);
    }
}

#[tokio::test]
async fn the_vector_index_is_per_user_per_workspace() {
    let m = mem_app("mem-sem-c").await;
    let store = m.app.store().await;
    note(&m, "marmalade recipe with Seville oranges").await;
    indexed(&store).await;
    assert_eq!(
        contents(&search(&m, "q=marmelade&mode=vector").await).len(),
        1
    );

    // Bob, a member of the same workspace, and Ada in another workspace find nothing.
    let (bob, _, _) = m.app.register("mem-sem-d@example.com").await;
    m.app
        .post(
            &format!("/workspaces/{}/members", m.user.ws),
            &m.user.token,
            json!({"email": "mem-sem-d@example.com", "role": "member"}),
        )
        .await
        .expect(201);
    let other = m.app.workspace(&m.user.token, "Other").await;
    m.app
        .send_ws(
            Method::POST,
            "/agent/memory/notes",
            &bob,
            &m.user.ws,
            Some(json!({"content": "bob likes plain toast"})),
        )
        .await
        .expect(201);
    indexed(&store).await;
    for mode in ["vector", "hybrid"] {
        let path = format!("/agent/memory/search?q=marmelade&mode={mode}");
        let r = m
            .app
            .send_ws(Method::GET, &path, &bob, &m.user.ws, None)
            .await
            .expect(200);
        assert_eq!(r.body["items"], json!([]), "bob, {mode}");
        let r = m.app.get_in(&path, &m.user.token, &other).await.expect(200);
        assert_eq!(r.body["items"], json!([]), "other workspace, {mode}");
    }
    // And Ada does not see Bob's vectors.
    assert_eq!(search(&m, "q=toast&mode=vector").await, json!([]));
}

#[tokio::test]
async fn a_turns_memory_block_finds_a_misspelt_memory_through_its_vector() {
    use crate::helpers::{FakeLlm, chat_app};
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let store = c.app.store().await;
    c.app
        .post(
            "/agent/memory/notes",
            &c.token,
            json!({"content": "Finished the marmalade batch: twelve jars of Seville orange"}),
        )
        .await
        .expect(201);
    indexed(&store).await;
    c.chat(json!({"message": "how is the marmelade?"}))
        .await
        .expect(200);
    let request = fake.last_request();
    let prompt = request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        prompt.contains("(note) Finished the marmalade batch"),
        "{prompt}"
    );
}

#[tokio::test]
async fn the_memory_search_tool_ranks_like_the_route_and_finds_a_typo_by_vector() {
    use crate::helpers::{Answer, FakeLlm, chat_app, has_tool_result};
    let fake = FakeLlm::start(|req, _| {
        if req.get("messages").is_some() && !has_tool_result(req) {
            Answer::tool("memory_search", json!({"query": "marmelade", "topK": 3}))
        } else {
            Answer::text("ok")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let store = c.app.store().await;
    for content in [
        "Finished the marmalade batch: twelve jars of Seville orange",
        "Quarterly tax report sent to the accountant",
    ] {
        c.app
            .post("/agent/memory/notes", &c.token, json!({"content": content}))
            .await
            .expect(201);
    }
    indexed(&store).await;
    c.chat(json!({"message": "what did I cook?"}))
        .await
        .expect(200);
    let request = fake.last_request();
    let result = request["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "tool"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string();
    let result: Value = serde_json::from_str(&result).expect("tool result JSON");
    let items = &result["items"];
    // Full-text alone finds nothing for the typo (the route's keyword mode says so).
    assert_eq!(
        contents(items),
        ["Finished the marmalade batch: twelve jars of Seville orange"],
        "{result}"
    );
    assert_eq!(items[0]["matchedBy"], json!(["vector"]));
    let route = c
        .app
        .get_in("/agent/memory/search?q=marmelade&topK=3", &c.token, &c.ws)
        .await
        .expect(200);
    assert_eq!(contents(&route.body["items"]), contents(items));
}

#[tokio::test]
async fn admin_health_reports_the_pgvector_extension_without_using_it() {
    let app = crate::helpers::spawn_app().await;
    let r = app.key_get("/admin/health").await.expect(200);
    let found = &r.body["memoryIndex"]["pgvector"];
    if r.body["database"]["engine"] == "sqlite" {
        assert!(found.is_null(), "{}", r.text);
    } else {
        let found = found.as_str().unwrap_or_default();
        assert!(
            ["installed", "available", "absent"].contains(&found),
            "{}",
            r.text
        );
    }
}
