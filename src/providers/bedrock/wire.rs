//! The Converse request body, shared by `converse` and `converse-stream`.

use serde_json::{Value, json};

use crate::providers::types::{ChatRequest, Message, Role};

/// The JSON body of a Converse call for `req` (the model travels in the path).
pub(super) fn body(req: &ChatRequest) -> Value {
    let (system, messages) = wire_messages(&req.messages);
    let mut body = json!({ "messages": messages });
    if !system.is_empty() {
        body["system"] = Value::Array(system);
    }
    let mut inference = serde_json::Map::new();
    if let Some(max) = req.max_tokens {
        inference.insert("maxTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        inference.insert("temperature".into(), json!(t));
    }
    if !inference.is_empty() {
        body["inferenceConfig"] = Value::Object(inference);
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.parameters}}}))
            .collect();
        body["toolConfig"] = json!({ "tools": tools });
    }
    body
}

/// System blocks apart; consecutive same-role messages merged, since Converse (like
/// Anthropic) wants strictly alternating roles.
fn wire_messages(messages: &[Message]) -> (Vec<Value>, Vec<Value>) {
    let mut system = Vec::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System => {
                system.push(json!({"text": m.content}));
                continue;
            }
            Role::User => ("user", vec![json!({"text": m.content})]),
            Role::Tool => (
                "user",
                vec![json!({"toolResult": {
                    "toolUseId": m.tool_call_id.clone().unwrap_or_default(),
                    "content": [{"text": m.content}],
                }})],
            ),
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"text": m.content}));
                }
                for c in &m.tool_calls {
                    let input: Value =
                        serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    blocks.push(
                        json!({"toolUse": {"toolUseId": c.id, "name": c.name, "input": input}}),
                    );
                }
                ("assistant", blocks)
            }
        };
        match out.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    let msgs = out
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    (system, msgs)
}
