//! An MCP server's tool as a gateway [`Tool`]: `tools/call` on the server, the result mapped
//! for the model (text as text, other content summarised), failures as error results.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::conn::{Connection, RemoteTool};
use crate::tools::{Tool, ToolContext, ToolError};

/// One tool of one connected server.
pub struct McpTool {
    tool: RemoteTool,
    conn: Arc<Connection>,
}

impl McpTool {
    /// The tool `tool` served by `conn`.
    pub fn new(tool: RemoteTool, conn: Arc<Connection>) -> Self {
        Self { tool, conn }
    }
}

#[async_trait]
impl Tool for McpTool {
    fn name(&self) -> &str {
        &self.tool.name
    }

    fn description(&self) -> &str {
        &self.tool.description
    }

    fn parameters(&self) -> Value {
        self.tool.parameters.clone()
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    async fn execute(&self, _ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let args = if args.is_null() { json!({}) } else { args };
        let result = self
            .conn
            .call(&self.tool.remote, args)
            .await
            .map_err(ToolError::Failed)?;
        map_result(&result)
    }
}

/// Maps a `CallToolResult` (as JSON): the text blocks joined, other blocks summarised,
/// `structuredContent` kept; `isError: true` becomes a failure carrying the text.
pub fn map_result(result: &Value) -> Result<Value, ToolError> {
    let blocks = result["content"].as_array().cloned().unwrap_or_default();
    let parts: Vec<String> = blocks.iter().map(summarise).collect();
    let text = parts.join("\n");
    if result["isError"].as_bool() == Some(true) {
        let message = if text.is_empty() {
            "the MCP tool reported an error".to_string()
        } else {
            text
        };
        return Err(ToolError::Failed(message));
    }
    let mut out = json!({ "content": text });
    if let Some(structured) = result.get("structuredContent").filter(|v| !v.is_null()) {
        out["structuredContent"] = structured.clone();
    }
    Ok(out)
}

/// A content block as text: text itself; images, audio and resources as a short summary
/// (binary data is never passed to the model).
fn summarise(block: &Value) -> String {
    let str_of = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    match block["type"].as_str().unwrap_or_default() {
        "text" => str_of(block, "text"),
        kind @ ("image" | "audio") => {
            let bytes = block["data"].as_str().map_or(0, |d| d.len() * 3 / 4);
            format!(
                "[{kind} {} of about {bytes} bytes]",
                str_of(block, "mimeType")
            )
        }
        "resource" => {
            let r = &block["resource"];
            match r["text"].as_str() {
                Some(t) => format!("[resource {}]\n{t}", str_of(r, "uri")),
                None => format!(
                    "[binary resource {} {}]",
                    str_of(r, "uri"),
                    str_of(r, "mimeType")
                ),
            }
        }
        "resource_link" => format!(
            "[resource link {} {}]",
            str_of(block, "uri"),
            str_of(block, "name")
        ),
        other => format!("[{other} content]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_other_content_summarised_errors_fail() {
        let ok = map_result(&json!({"content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png"},
            {"type": "resource_link", "uri": "file:///a", "name": "a"},
        ]}))
        .unwrap();
        let text = ok["content"].as_str().unwrap();
        assert!(
            text.starts_with("hello\n[image image/png of about 3 bytes]"),
            "{text}"
        );
        assert!(text.ends_with("[resource link file:///a a]"));
        let err =
            map_result(&json!({"content": [{"type": "text", "text": "boom"}], "isError": true}))
                .unwrap_err();
        assert_eq!(err, ToolError::Failed("boom".into()));
        let structured =
            map_result(&json!({"content": [], "structuredContent": {"n": 1}})).unwrap();
        assert_eq!(structured["structuredContent"]["n"], 1);
    }
}
