//! Anthropic Messages API adapter (`claude`): top-level system prompt, tool_use /
//! tool_result content blocks, and the message_start … message_stop event stream.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ProviderError;
use super::http::{join, send};
use super::sse::{self, Decoder, SseEvent};
use super::types::{
    ChatRequest, EventStream, FinishReason, Message, Provider, Role, StreamEvent, Usage,
};

/// API version header value; the streaming format below is the one of this version.
const API_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; used when the request leaves it open.
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// A client for the Anthropic Messages API.
pub struct Anthropic {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
}

impl Anthropic {
    /// A client for `base_url` (e.g. `https://api.anthropic.com`); without a key no
    /// `x-api-key` is sent (an endpoint that must not receive the operator's key).
    pub fn new(
        client: reqwest::Client,
        base_url: impl Into<String>,
        api_key: Option<String>,
    ) -> Self {
        Self {
            client,
            base_url: base_url.into(),
            api_key,
        }
    }
}

/// Translate messages; consecutive same-role turns are merged because the API requires
/// alternation (several tool results answer one assistant turn in one user message).
fn wire_messages(messages: &[Message]) -> Result<(Option<String>, Vec<Value>), ProviderError> {
    let mut system: Vec<&str> = Vec::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System => {
                system.push(&m.content);
                continue;
            }
            Role::User => ("user", vec![json!({"type": "text", "text": m.content})]),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
                    "content": m.content,
                })],
            ),
            Role::Assistant => {
                let mut blocks = Vec::new();
                if !m.content.is_empty() {
                    blocks.push(json!({"type": "text", "text": m.content}));
                }
                for c in &m.tool_calls {
                    let input: Value = if c.arguments.trim().is_empty() {
                        json!({})
                    } else {
                        serde_json::from_str(&c.arguments).map_err(|e| {
                            ProviderError::InvalidRequest(format!(
                                "tool call {} arguments are not JSON: {e}",
                                c.id
                            ))
                        })?
                    };
                    blocks.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
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
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    let msgs = out
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    Ok((system, msgs))
}

#[async_trait]
impl Provider for Anthropic {
    fn id(&self) -> &str {
        "claude"
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let (system, messages) = wire_messages(&req.messages)?;
        let mut body = json!({
            "model": req.model,
            "messages": messages,
            "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            "stream": true,
        });
        if let Some(system) = system {
            body["system"] = json!(system);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                .collect();
        }
        let mut rb = self
            .client
            .post(join(&self.base_url, "v1/messages"))
            .header("anthropic-version", API_VERSION)
            .json(&body);
        if let Some(key) = &self.api_key {
            rb = rb.header("x-api-key", key);
        }
        let resp = send(rb).await?;
        Ok(sse::decode(resp.bytes_stream(), EventDecoder::default()))
    }

    async fn embed(
        &self,
        _model: &str,
        _inputs: &[String],
    ) -> Result<Vec<Vec<f32>>, ProviderError> {
        Err(ProviderError::Unsupported(
            "Anthropic offers no embeddings API".into(),
        ))
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: Block,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    MessageDelta {
        delta: MessageDeltaBody,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        error: Value,
    },
    #[serde(other)]
    Ignored,
}

#[derive(Deserialize)]
struct StartMessage {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

/// Tool calls are numbered in order of appearance, since block indices also count text.
#[derive(Default)]
pub(super) struct EventDecoder {
    tool_index: HashMap<usize, usize>,
    input: u64,
    cache_read: u64,
    cache_write: u64,
    output: u64,
    stop: Option<FinishReason>,
    done: bool,
}

impl EventDecoder {
    fn absorb(&mut self, u: WireUsage) {
        self.input = u.input_tokens.unwrap_or(self.input);
        self.cache_read = u.cache_read_input_tokens.unwrap_or(self.cache_read);
        self.cache_write = u.cache_creation_input_tokens.unwrap_or(self.cache_write);
        self.output = u.output_tokens.unwrap_or(self.output);
    }
}

impl Decoder for EventDecoder {
    fn event(&mut self, ev: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        let wire: WireEvent = sse::json(&ev.data)?;
        Ok(match wire {
            WireEvent::MessageStart { message } => {
                self.absorb(message.usage.unwrap_or_default());
                vec![]
            }
            WireEvent::ContentBlockStart {
                index,
                content_block: Block::ToolUse { id, name },
            } => {
                let n = self.tool_index.len();
                self.tool_index.insert(index, n);
                vec![StreamEvent::ToolCallStart { index: n, id, name }]
            }
            WireEvent::ContentBlockStart { .. } => vec![],
            WireEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } if !text.is_empty() => {
                    vec![StreamEvent::TextDelta(text)]
                }
                BlockDelta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    let n = self.tool_index.get(&index).copied().ok_or_else(|| {
                        ProviderError::Malformed(format!(
                            "input_json_delta for unknown block {index}"
                        ))
                    })?;
                    vec![StreamEvent::ToolCallDelta {
                        index: n,
                        arguments: partial_json,
                    }]
                }
                _ => vec![],
            },
            WireEvent::MessageDelta { delta, usage } => {
                self.absorb(usage.unwrap_or_default());
                if let Some(r) = delta.stop_reason {
                    self.stop = Some(stop_reason(&r));
                }
                vec![]
            }
            WireEvent::MessageStop => {
                self.done = true;
                // Anthropic's input_tokens excludes cache reads and writes; Usage includes them.
                let prompt = self
                    .input
                    .saturating_add(self.cache_read)
                    .saturating_add(self.cache_write);
                let usage = Usage::reported(prompt, self.output, self.cache_read);
                let reason = self.stop.take().unwrap_or_default();
                vec![StreamEvent::Usage(usage), StreamEvent::Finish { reason }]
            }
            WireEvent::Error { error } => {
                return Err(sse::upstream_error(&error));
            }
            WireEvent::Ignored => vec![],
        })
    }

    fn done(&self) -> bool {
        self.done
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        Err(ProviderError::StreamBroken(
            "stream ended before message_stop".into(),
        ))
    }
}

fn stop_reason(s: &str) -> FinishReason {
    match s {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}
