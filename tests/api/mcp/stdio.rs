//! An operator's stdio server: started by the gateway from `astra.yml`, its tools used by an
//! agent turn (a result and an error reach the model), restarted after it dies in the middle
//! of a call, its tool list refreshed on `notifications/tools/list_changed`, and stopped on
//! shutdown.

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};

use super::support::{calling, tool_results, wait_for_tool};
use crate::helpers::{agent, chat_app_with};

/// `tests/clients/mcp_stdio_server.py` as an operator server called `id`, counting its
/// starts in `starts`.
pub fn stdio_server(id: &str, script: &str, python: &str, starts: &std::path::Path) -> Value {
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "clients", script]
        .iter()
        .collect();
    json!({"id": id, "transport": "stdio", "command": python, "args": [script.to_str().unwrap()],
           "env": {"MCP_TEST_STARTS": starts.to_str().unwrap()}})
}

fn starts(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_stdio_server_serves_a_turn_dies_mid_call_is_restarted_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("starts");
    let llm = calling(vec![
        ("mcp__py__echo", json!({"text": "over stdio"})),
        ("mcp__py__explode", json!({})),
        ("mcp__py__die", json!({})),
    ])
    .await;
    let server = stdio_server("py", "mcp_stdio_server.py", "python3", &count);
    let c = chat_app_with(&llm, move |cfg| {
        cfg.file.mcp = json!({"servers": [server]});
        cfg.tool_timeout = Duration::from_secs(10);
    })
    .await;
    c.create_agent(agent("stdioagent", json!({"skills": ["mcp:py"]})))
        .await;
    let caps = wait_for_tool(&c, "stdioagent", "mcp__py__echo").await;
    let explode = caps["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "mcp__py__explode")
        .unwrap();
    assert_eq!(explode["parameters"]["type"], "object");
    assert_eq!(starts(&count), 1);

    let r = c
        .chat(json!({"message": "go", "agentId": "stdioagent"}))
        .await
        .expect(200);
    assert_eq!(r.body["content"], "done");
    let results = tool_results(&llm.request(3));
    assert!(results[0].contains("echo: over stdio"), "{results:?}");
    assert!(
        results[1].contains("error") && results[1].contains("failed on purpose"),
        "{results:?}"
    );
    assert!(results[2].contains("error"), "{results:?}");

    // The supervisor restarts the dead server; its tools come back.
    for _ in 0..300 {
        if starts(&count) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(starts(&count), 2, "the server was not restarted");
    wait_for_tool(&c, "stdioagent", "mcp__py__echo").await;
}

#[tokio::test]
async fn a_list_changed_notification_refreshes_the_tools() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("starts");
    let llm = calling(vec![
        ("mcp__py__grow", json!({})),
        ("mcp__py__late", json!({})),
    ])
    .await;
    let server = stdio_server("py", "mcp_stdio_server.py", "python3", &count);
    let c = chat_app_with(&llm, move |cfg| {
        cfg.file.mcp = json!({"servers": [server]});
    })
    .await;
    c.create_agent(agent("grower", json!({"skills": ["mcp:py"]})))
        .await;
    wait_for_tool(&c, "grower", "mcp__py__grow").await;
    // The first turn grows the server; `late` is not offered yet, so its call is refused.
    c.chat(json!({"message": "grow", "agentId": "grower"}))
        .await
        .expect(200);
    assert!(tool_results(&llm.request(2))[1].contains("unknown tool"));
    wait_for_tool(&c, "grower", "mcp__py__late").await;
}
