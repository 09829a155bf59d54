//! An operator's streamable-HTTP server from `astra.yml`: its tools in the capabilities with
//! their schemas, an agent turn calling a tool that answers and one that fails (both results
//! reach the model, the trace and the skill metrics record them), and a server that dies in
//! the middle of a call (an error result, never a failed turn).

use std::time::Duration;

use serde_json::json;

use super::{
    fake::FakeMcp,
    support::{calling, capability_names, http_server, newest_trace_tools, tool_results},
};
use crate::helpers::{agent, chat_app_with};

#[tokio::test]
async fn an_agent_turn_calls_two_mcp_tools_and_the_model_sees_result_and_error() {
    let mcp = FakeMcp::start().await;
    let llm = calling(vec![
        ("mcp__remote__echo", json!({"text": "hello"})),
        ("mcp__remote__explode", json!({})),
    ])
    .await;
    let url = mcp.url.clone();
    let c = chat_app_with(&llm, move |cfg| {
        cfg.file.mcp = json!({"servers": [http_server("remote", &url)]});
    })
    .await;
    c.create_agent(agent("mcpuser", json!({"skills": ["mcp:remote"]})))
        .await;

    // The capabilities list the server's tools with their schemas, brought by the skill.
    let caps = c
        .app
        .get_as(&c.user, "/agents/mcpuser/capabilities")
        .await
        .expect(200);
    let echo = caps.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "mcp__remote__echo")
        .unwrap_or_else(|| panic!("{}", caps.text))
        .clone();
    assert_eq!(echo["skill"], "mcp:remote");
    assert_eq!(echo["parameters"]["properties"]["text"]["type"], "string");
    assert_eq!(echo["description"], "Echoes the text back.");

    let r = c
        .chat(json!({"message": "use the tools", "agentId": "mcpuser"}))
        .await
        .expect(200);
    assert_eq!(r.body["content"], "done");
    assert_eq!(
        r.body["toolsUsed"],
        json!(["mcp__remote__echo", "mcp__remote__explode"])
    );
    // The model was offered the tools and received the text result, then the error.
    assert_eq!(llm.hits(), 3);
    let offered: Vec<String> = llm.request(0)["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        offered.contains(&"mcp__remote__explode".to_string()),
        "{offered:?}"
    );
    let results = tool_results(&llm.request(2));
    assert!(results[0].contains("echo: hello"), "{results:?}");
    assert!(
        results[1].contains("error") && results[1].contains("failed on purpose"),
        "{results:?}"
    );
    // The server received both calls under their own names.
    let calls = mcp.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["name"], "echo");
    assert_eq!(calls[0]["arguments"]["text"], "hello");
    assert_eq!(calls[1]["name"], "explode");

    // The trace records both calls, the failing one with its error.
    let tools = newest_trace_tools(&c, 2).await;
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["mcp__remote__echo", "mcp__remote__explode"]);
    assert!(tools[0]["error"].is_null(), "{tools:?}");
    assert!(
        tools[1]["error"]
            .as_str()
            .unwrap()
            .contains("failed on purpose"),
        "{tools:?}"
    );
    // Skill metrics count them under the skill `mcp:remote`.
    let store = c.store().await;
    let mut rows = 0i64;
    for _ in 0..100 {
        rows = astra::with_pool!(store.pool(), p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM skill_metrics WHERE skill_id = 'mcp:remote'").fetch_one(p).await.unwrap()
        });
        if rows >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn allow_and_deny_pick_single_mcp_tools_and_unknown_names_are_refused() {
    let mcp = FakeMcp::start().await;
    let llm = calling(vec![]).await;
    let url = mcp.url.clone();
    let c = chat_app_with(&llm, move |cfg| {
        cfg.file.mcp = json!({"servers": [http_server("remote", &url)]});
    })
    .await;
    c.create_agent(agent(
        "picky",
        json!({"skills": [], "tools": {"allow": ["mcp__remote__echo", "mcp__remote__die"], "deny": ["mcp__remote__die"]}}),
    ))
    .await;
    assert_eq!(capability_names(&c, "picky").await, ["mcp__remote__echo"]);
    c.create_agent(agent(
        "denier",
        json!({"skills": ["mcp:remote"], "tools": {"deny": ["mcp__remote__explode"]}}),
    ))
    .await;
    let names = capability_names(&c, "denier").await;
    assert!(
        names.contains(&"mcp__remote__echo".to_string())
            && !names.contains(&"mcp__remote__explode".to_string()),
        "{names:?}"
    );
    // Malformed MCP names are refused like unknown tools and skills.
    for bad in [
        json!({"tools": {"allow": ["mcp__Bad Server__x"]}}),
        json!({"skills": ["mcp:Bad_Server"]}),
    ] {
        let r = c.app.post_as(&c.user, "/agents", agent("bad", bad)).await;
        r.expect_error(400, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn a_server_dying_mid_call_is_an_error_result_and_the_turn_completes() {
    let mcp = FakeMcp::start().await;
    let llm = calling(vec![
        ("mcp__remote__die", json!({})),
        ("mcp__remote__echo", json!({"text": "still there?"})),
    ])
    .await;
    let url = mcp.url.clone();
    let c = chat_app_with(&llm, move |cfg| {
        cfg.file.mcp = json!({"servers": [http_server("remote", &url)]});
        cfg.tool_timeout = Duration::from_secs(5);
    })
    .await;
    c.create_agent(agent("mcpuser", json!({"skills": ["mcp:remote"]})))
        .await;
    let r = c
        .chat(json!({"message": "go", "agentId": "mcpuser"}))
        .await
        .expect(200);
    assert_eq!(r.body["content"], "done");
    let results = tool_results(&llm.request(2));
    assert_eq!(results.len(), 2);
    for result in &results {
        assert!(result.contains("error"), "{results:?}");
    }
    let tools = newest_trace_tools(&c, 2).await;
    assert!(tools.iter().all(|t| t["error"].is_string()), "{tools:?}");
}
