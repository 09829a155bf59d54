//! Shared steps: a fake LLM that calls a list of tools one round each, the tool results it
//! received, capabilities and trace polling.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Answer, ChatApp, FakeLlm};

/// The tool messages of a provider request, in order.
pub fn tool_results(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A fake LLM that calls `calls` (name, arguments) one per round, then answers "done".
pub async fn calling(calls: Vec<(&'static str, Value)>) -> FakeLlm {
    FakeLlm::start(move |req, _| {
        let done = tool_results(req).len();
        match calls.get(done) {
            Some((name, args)) => Answer::tool(name, args.clone()),
            None => Answer::text("done"),
        }
    })
    .await
}

/// The tool names of an agent's capabilities.
pub async fn capability_names(c: &ChatApp, agent: &str) -> Vec<String> {
    let r = c
        .app
        .get_as(&c.user, &format!("/agents/{agent}/capabilities"))
        .await
        .expect(200);
    r.body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// The agent's capabilities once they include `tool` (stdio servers start in the background).
pub async fn wait_for_tool(c: &ChatApp, agent: &str, tool: &str) -> Value {
    for _ in 0..300 {
        let r = c
            .app
            .get_as(&c.user, &format!("/agents/{agent}/capabilities"))
            .await
            .expect(200);
        if r.body["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == tool)
        {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{tool} never appeared in the capabilities of {agent}");
}

/// The tools of the newest trace's detail, once it is recorded with `n` tool calls.
pub async fn newest_trace_tools(c: &ChatApp, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let list = c.app.get_as(&c.user, "/traces?limit=1").await.expect(200);
        if let Some(id) = list.body["items"][0]["id"].as_str() {
            let d = c
                .app
                .get_as(&c.user, &format!("/traces/{id}"))
                .await
                .expect(200);
            let tools = d.body["detail"]["tools"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if tools.len() >= n {
                return tools;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no trace with {n} tool calls");
}

/// An operator server entry for `astra.yml` `mcp.servers`.
pub fn http_server(id: &str, url: &str) -> Value {
    json!({"id": id, "transport": "http", "url": url})
}
