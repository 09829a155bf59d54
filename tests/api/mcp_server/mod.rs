//! `POST /mcp`, Astra as an MCP server (streamable HTTP, stateless), spoken to as an MCP
//! client does — JSON-RPC 2.0 posts with `Accept: application/json, text/event-stream`:
//! `initialize`, `tools/list` (one `ask_<agentId>` per agent the caller may run), `tools/call`
//! (a full turn through the fake LLM, recorded with its trace), credentials (JWT, API key,
//! none, bad, a key without `chat`) and workspace isolation.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Answer, ChatApp, FakeLlm, Resp, agent, chat_app, unique_email};

const PROTOCOL: &str = "2025-06-18";

/// A JSON-RPC request.
fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn call(tool: &str, arguments: Value) -> Value {
    rpc(
        3,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

/// POSTs one message to `/mcp` with `authorization` (if any) and extra headers.
async fn post_mcp(c: &ChatApp, auth: Option<&str>, body: Value, extra: &[(&str, &str)]) -> Resp {
    let mut headers = vec![
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", PROTOCOL),
    ];
    let bearer = auth.map(|a| format!("Bearer {a}"));
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    headers.extend_from_slice(extra);
    c.app.send(Method::POST, "/mcp", Some(body), &headers).await
}

/// POSTs as the chat app's user (JWT) and returns the JSON-RPC answer.
async fn mcp(c: &ChatApp, body: Value) -> Value {
    let r = post_mcp(c, Some(&c.token), body, &[]).await.expect(200);
    assert_eq!(r.body["jsonrpc"], "2.0", "{}", r.text);
    r.body
}

fn tool_names(answer: &Value) -> Vec<String> {
    answer["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {answer}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

/// Creates an API key for the chat app's user with `body`; returns the key.
async fn api_key(c: &ChatApp, body: Value) -> String {
    let r = c.app.post("/api-keys", &c.token, body).await.expect(201);
    r.body["key"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn initialize_answers_astra_with_the_tools_capability() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let params = json!({"protocolVersion": PROTOCOL, "capabilities": {},
                        "clientInfo": {"name": "test", "version": "1"}});
    let answer = mcp(&c, rpc(1, "initialize", params)).await;
    let result = &answer["result"];
    assert_eq!(answer["id"], 1);
    assert_eq!(result["protocolVersion"], PROTOCOL, "{answer}");
    assert_eq!(result["serverInfo"]["name"], "astra");
    assert!(result["capabilities"]["tools"].is_object(), "{answer}");
    assert!(result["instructions"].as_str().unwrap().contains("ask_"));
    // The client's `initialized` notification is accepted without a body.
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let r = post_mcp(&c, Some(&c.token), note, &[]).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let pong = mcp(&c, rpc(2, "ping", json!({}))).await;
    assert!(pong["result"].is_object(), "{pong}");
}

#[tokio::test]
async fn tools_list_has_one_ask_tool_per_agent_the_caller_may_run() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let mut helper = agent("helper", json!({}));
    helper["displayName"] = json!("Research Helper");
    c.app
        .send_ws(Method::POST, "/agents", &c.token, &c.ws, Some(helper))
        .await
        .expect(201);
    let answer = mcp(&c, rpc(2, "tools/list", json!({}))).await;
    let names = tool_names(&answer);
    assert!(names.contains(&"ask_chad".to_string()), "{names:?}");
    assert!(names.contains(&"ask_helper".to_string()), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("ask_")), "{names:?}");
    let tools = answer["result"]["tools"].as_array().unwrap();
    let tool = tools.iter().find(|t| t["name"] == "ask_helper").unwrap();
    assert_eq!(tool["title"], "Research Helper");
    assert!(
        tool["description"]
            .as_str()
            .unwrap()
            .contains("Research Helper")
    );
    let schema = &tool["inputSchema"];
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["message"]));
    assert_eq!(schema["properties"]["message"]["type"], "string");
    assert_eq!(schema["properties"]["surfaceId"]["type"], "string");
    // The list is the caller's own.
    assert_eq!(answer["result"]["cacheScope"], "private", "{answer}");
}

#[tokio::test]
async fn calling_a_tool_runs_a_recorded_turn_and_returns_the_reply() {
    let fake = FakeLlm::saying("Forty-two.").await;
    let c = chat_app(&fake).await;
    let answer = mcp(
        &c,
        call("ask_chad", json!({"message": "What is 6 times 7?"})),
    )
    .await;
    let result = &answer["result"];
    assert_eq!(result["isError"], false, "{answer}");
    assert_eq!(result["content"][0]["type"], "text");
    assert_eq!(result["content"][0]["text"], "Forty-two.");
    let out = &result["structuredContent"];
    assert_eq!(out["reply"], "Forty-two.");
    assert_eq!(out["agentId"], "chad");
    let surface = out["surfaceId"].as_str().unwrap().to_string();
    assert!(surface.starts_with("mcp-"), "{surface}");
    assert_eq!(
        crate::helpers::last_user_text(&fake.last_request()),
        "What is 6 times 7?"
    );

    // Recorded like /agent/chat: the trace and the session with both messages.
    let trace = out["traceId"].as_str().unwrap();
    let t = c
        .app
        .get_in(&format!("/traces/{trace}"), &c.token, &c.ws)
        .await
        .expect(200);
    assert_eq!(t.body["agentId"], "chad", "{}", t.text);
    let session = out["sessionId"].as_str().unwrap().to_string();
    let s = c
        .app
        .get(&format!("/sessions/{session}"), &c.token)
        .await
        .expect(200);
    let messages = s.body["messages"].as_array().unwrap();
    let texts: Vec<&str> = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(texts.contains(&"What is 6 times 7?"), "{}", s.text);
    assert!(texts.contains(&"Forty-two."), "{}", s.text);

    // surfaceId continues that conversation.
    let again = mcp(
        &c,
        call(
            "ask_chad",
            json!({"message": "And 7 times 8?", "surfaceId": surface}),
        ),
    )
    .await;
    assert_eq!(again["result"]["structuredContent"]["sessionId"], session);
    assert_eq!(fake.hits(), 2);
}

#[tokio::test]
async fn refusals_and_failed_turns_are_tool_errors_and_unknown_tools_protocol_errors() {
    let fake = FakeLlm::always(Answer::error(500).into()).await;
    let c = chat_app(&fake).await;
    let failed = mcp(&c, call("ask_chad", json!({"message": "hi"}))).await;
    assert_eq!(failed["result"]["isError"], true, "{failed}");
    assert!(failed["result"]["content"][0]["text"].is_string());

    let hits = fake.hits();
    for bad in [json!({}), json!({"message": ""}), json!({"message": 7})] {
        let answer = mcp(&c, call("ask_chad", bad.clone())).await;
        assert_eq!(answer["result"]["isError"], true, "{bad}: {answer}");
        let text = answer["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("VALIDATION_ERROR"), "{text}");
    }
    for unknown in ["ask_nobody", "chad", "nope"] {
        let answer = mcp(&c, call(unknown, json!({"message": "hi"}))).await;
        assert_eq!(answer["error"]["code"], -32602, "{unknown}: {answer}");
        assert!(answer.get("result").is_none());
    }
    assert_eq!(fake.hits(), hits, "no refused call reached the model");
}

#[tokio::test]
async fn credentials_are_required_and_an_api_key_works() {
    let fake = FakeLlm::saying("from a key").await;
    let c = chat_app(&fake).await;
    let list = rpc(2, "tools/list", json!({}));
    post_mcp(&c, None, list.clone(), &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    post_mcp(&c, Some("ak_not-a-real-key"), list.clone(), &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    post_mcp(&c, Some("not.a.jwt"), list.clone(), &[])
        .await
        .expect_error(401, "UNAUTHORIZED");

    let key = api_key(&c, json!({"name": "mcp", "workspaceId": c.ws})).await;
    let r = post_mcp(&c, Some(&key), list.clone(), &[])
        .await
        .expect(200);
    assert!(tool_names(&r.body).contains(&"ask_chad".to_string()));
    let r = post_mcp(
        &c,
        Some(&key),
        call("ask_chad", json!({"message": "hi"})),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(r.body["result"]["content"][0]["text"], "from a key");
    // A key bound to its workspace acts there only; a read-only key may not run agents.
    let other_ws = c.app.workspace(&c.token, "Elsewhere").await;
    post_mcp(
        &c,
        Some(&key),
        list.clone(),
        &[("x-workspace-id", &other_ws)],
    )
    .await
    .expect_error(403, "FORBIDDEN");
    let read_only = api_key(&c, json!({"name": "ro", "scopes": ["read"]})).await;
    post_mcp(&c, Some(&read_only), list, &[])
        .await
        .expect_error(403, "FORBIDDEN");
    // Revoked: refused from the next request on.
    let keys = c.app.get("/api-keys", &c.token).await.expect(200);
    let id = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "mcp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.app
        .delete(&format!("/api-keys/{id}"), &c.token)
        .await
        .expect(204);
    post_mcp(&c, Some(&key), rpc(2, "tools/list", json!({})), &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn another_workspaces_agent_is_neither_listed_nor_callable() {
    let fake = FakeLlm::saying("leak").await;
    let c = chat_app(&fake).await;
    let (other_token, _, _) = c.app.register(&unique_email("mcp-other")).await;
    let other_ws = c.app.workspace(&other_token, "Other").await;
    c.app
        .send_ws(
            Method::POST,
            "/agents",
            &other_token,
            &other_ws,
            Some(agent("secret", json!({}))),
        )
        .await
        .expect(201);
    let answer = mcp(&c, rpc(2, "tools/list", json!({}))).await;
    assert!(!tool_names(&answer).contains(&"ask_secret".to_string()));
    let answer = mcp(&c, call("ask_secret", json!({"message": "hi"}))).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
    // Naming the other workspace does not help a non-member.
    post_mcp(
        &c,
        Some(&c.token),
        call("ask_secret", json!({"message": "hi"})),
        &[("x-workspace-id", &other_ws)],
    )
    .await
    .expect_error(403, "FORBIDDEN");
    assert_eq!(fake.hits(), 0);
    // Its owner sees and runs it.
    let own = post_mcp(
        &c,
        Some(&other_token),
        rpc(2, "tools/list", json!({})),
        &[("x-workspace-id", &other_ws)],
    )
    .await
    .expect(200);
    assert!(tool_names(&own.body).contains(&"ask_secret".to_string()));
}

#[tokio::test]
async fn no_server_stream_and_no_sessions() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let auth = format!("Bearer {}", c.token);
    for method in [Method::GET, Method::DELETE] {
        let r = c
            .app
            .send(method.clone(), "/mcp", None, &[("authorization", &auth)])
            .await;
        assert_eq!(r.status, 405, "{method}: {}", r.text);
    }
}
