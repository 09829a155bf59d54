//! Tool rounds: a two-round loop, the max-rounds cut-off, errors fed back, the result cache.

use crate::helpers::{Answer, FakeLlm, agent, chat_app, has_tool_result, names, offers_tools};
use serde_json::{Value, json};

fn tool_result_content(request: &Value) -> String {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_tool_round_runs_the_tool_and_feeds_the_result_back() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) && !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "6*7"}))
        } else {
            Answer::text("The answer is 42")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let (status, events) = c.stream(json!({"message": "what is 6*7?"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&events),
        [
            "session_resolved",
            "tool_call",
            "tool_call_complete",
            "tool_result",
            "content",
            "done"
        ]
    );
    assert_eq!(events[1].1["name"], "calculator");
    assert_eq!(events[1].1["index"], 0);
    assert!(events[1].1["toolCallId"].is_string());
    assert_eq!(
        events[2].1["arguments"]
            .as_str()
            .map(|a| serde_json::from_str::<Value>(a).unwrap()),
        Some(json!({"expression": "6*7"}))
    );
    assert_eq!(events[3].1["name"], "calculator");
    assert!(events[3].1["durationMs"].is_number());
    let done = &events[5].1;
    assert_eq!(done["toolsUsed"], json!(["calculator"]));
    assert_eq!(done["usage"]["totalTokens"], 19 + 15);
    // The second request carried the tool result.
    assert_eq!(fake.hits(), 2);
    assert!(tool_result_content(&fake.request(1)).contains("42"));
    // The tool schema was offered.
    let tools = fake.request(0)["tools"].as_array().unwrap().clone();
    assert!(tools.iter().any(|t| t["function"]["name"] == "calculator"));
    // A skill metric row is written off the request path.
    let store = c.store().await;
    let mut rows = 0i64;
    for _ in 0..50 {
        rows = astra::with_pool!(store.pool(), p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM skill_metrics WHERE skill_id = 'utilities' AND tool_name = 'calculator'").fetch_one(p).await.unwrap()
        });
        if rows > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn rounds_are_capped_then_a_final_answer_is_asked_without_tools() {
    let fake = FakeLlm::start(|req, _| {
        if offers_tools(req) {
            Answer::tool("current_time", json!({}))
        } else {
            Answer::text("final answer")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.create_agent(agent("looper", json!({"maxToolRounds": 2})))
        .await;
    let r = c
        .chat(json!({"message": "loop", "agentId": "looper"}))
        .await
        .expect(200);
    assert_eq!(r.body["content"], "final answer");
    assert_eq!(r.body["toolsUsed"], json!(["current_time"]));
    assert_eq!(fake.hits(), 3);
    assert!(offers_tools(&fake.request(1)));
    assert!(!offers_tools(&fake.request(2)));
}

#[tokio::test]
async fn a_failing_tool_returns_an_error_result_and_the_turn_goes_on() {
    let fake = FakeLlm::start(|req, _| {
        if !has_tool_result(req) {
            Answer::tool("calculator", json!({"expression": "1/0"}))
        } else {
            Answer::text("cannot divide by zero")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    let (_, events) = c.stream(json!({"message": "1/0?"})).await;
    let result = events.iter().find(|(n, _)| n == "tool_result").unwrap();
    assert!(result.1["error"].is_string(), "{:?}", result.1);
    assert_eq!(events.last().unwrap().0, "done");
    assert!(tool_result_content(&fake.request(1)).contains("error"));
    // A tool the agent does not offer is refused the same way.
    let fake2 = FakeLlm::start(|req, _| {
        if !has_tool_result(req) {
            Answer::tool("http_request", json!({"method": "GET", "url": "http://x"}))
        } else {
            Answer::text("ok")
        }
    })
    .await;
    let c2 = chat_app(&fake2).await;
    let r = c2.chat(json!({"message": "go"})).await.expect(200);
    assert_eq!(r.body["content"], "ok");
    assert!(tool_result_content(&fake2.request(1)).contains("unknown tool"));
}

#[tokio::test]
async fn cacheable_tool_results_are_reused_and_can_be_cleared() {
    // A local page for fetch_page (private URLs are allowed in tests).
    let page = axum::Router::new().route(
        "/page",
        axum::routing::get(|| async { "<html><title>T</title><body>cached body</body></html>" }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, page).await.unwrap() });
    let fetch_url = url.clone();
    let fake = FakeLlm::start(move |req, _| {
        if !has_tool_result(req) {
            Answer::tool("fetch_page", json!({"url": fetch_url}))
        } else {
            Answer::text("read it")
        }
    })
    .await;
    let c = chat_app(&fake).await;
    c.chat(json!({"message": "read", "surfaceId": "a"}))
        .await
        .expect(200);
    c.chat(json!({"message": "read", "surfaceId": "b"}))
        .await
        .expect(200);
    let stats = c.app.get("/skills/cache/stats", &c.token).await.expect(200);
    assert_eq!(stats.body["hits"], 1, "{}", stats.text);
    assert_eq!(stats.body["misses"], 1);
    assert_eq!(stats.body["entries"], 1);
    assert_eq!(stats.body["byTool"]["fetch_page"]["hits"], 1);
    assert!(stats.body["hitRate"].as_f64().unwrap() > 0.4);
    let r = c
        .app
        .post("/skills/cache/clear?tool=calculator", &c.token, json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["cleared"], 0);
    let r = c
        .app
        .post("/skills/cache/clear", &c.token, json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["cleared"], 1);
    c.app
        .send(reqwest::Method::GET, "/skills/cache/stats", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
}
