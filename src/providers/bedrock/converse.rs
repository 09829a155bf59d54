//! The non-streaming `converse` reply and its shared pieces (usage, stop reasons), which
//! the stream's events use too.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::providers::types::{ChatResponse, FinishReason, ToolCall, Usage};

/// The body of a `converse` reply.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConverseResponse {
    output: Output,
    stop_reason: Option<String>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Output {
    message: OutMessage,
}

#[derive(Deserialize)]
struct OutMessage {
    #[serde(default)]
    content: Vec<OutBlock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OutBlock {
    text: Option<String>,
    tool_use: Option<ToolUse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUse {
    tool_use_id: String,
    name: String,
    #[serde(default)]
    input: Value,
}

/// Token counts as Converse reports them (in the reply, or the stream's `metadata` event).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        // Like Anthropic, Bedrock's inputTokens excludes cache reads and writes.
        // Counts are untrusted (a tenant may point an agent at its own endpoint): capped and
        // summed without overflow.
        let prompt = u
            .input_tokens
            .saturating_add(u.cache_read_input_tokens)
            .saturating_add(u.cache_write_input_tokens);
        Usage::reported(prompt, u.output_tokens, u.cache_read_input_tokens)
    }
}

/// Converse's `stopReason` in the normalised form.
pub(super) fn stop_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("end_turn" | "stop_sequence") | None => FinishReason::Stop,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("max_tokens") => FinishReason::Length,
        Some("content_filtered" | "guardrail_intervened") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

impl From<ConverseResponse> for ChatResponse {
    fn from(resp: ConverseResponse) -> Self {
        let mut content = String::new();
        let mut tool_calls = Vec::new();
        for block in resp.output.message.content {
            if let Some(text) = block.text {
                content.push_str(&text);
            }
            if let Some(tu) = block.tool_use {
                let input = if tu.input.is_null() {
                    json!({})
                } else {
                    tu.input
                };
                tool_calls.push(ToolCall {
                    id: tu.tool_use_id,
                    name: tu.name,
                    arguments: input.to_string(),
                });
            }
        }
        ChatResponse {
            content,
            tool_calls,
            usage: resp.usage.map(Usage::from).unwrap_or_default(),
            finish_reason: stop_reason(resp.stop_reason.as_deref()),
        }
    }
}
