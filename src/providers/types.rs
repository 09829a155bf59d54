//! The normalised chat model every adapter translates to and from: messages, tool calls,
//! tool definitions, the request, the stream of events and its folded (non-streaming) form.

use std::collections::BTreeMap;
use std::pin::Pin;

use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::error::ProviderError;

/// Who authored a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model; adapters hoist these where the wire format wants them.
    System,
    /// The human (or calling application).
    User,
    /// The model, possibly with tool calls.
    Assistant,
    /// The result of a tool call, linked by `tool_call_id`.
    Tool,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Author of the message.
    pub role: Role,
    /// Text content (may be empty for an assistant turn that only calls tools).
    pub content: String,
    /// Tool calls made by an assistant message.
    pub tool_calls: Vec<ToolCall>,
    /// For `Role::Tool`: the id of the call this message answers.
    pub tool_call_id: Option<String>,
    /// For `Role::Tool`: the tool's name (Gemini needs it; others ignore it).
    pub name: Option<String>,
}

impl Message {
    /// A message with only text.
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }

    /// A tool result answering the call `tool_call_id`.
    pub fn tool_result(
        tool_call_id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            role: Role::Tool,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: Some(tool_call_id.into()),
            name: Some(name.into()),
        }
    }
}

/// A tool invocation requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Provider-assigned id (generated when the wire format has none).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as JSON text, exactly as the model produced them.
    pub arguments: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Tool name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// A chat completion request, independent of the provider.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model id as the provider names it.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools offered to the model.
    pub tools: Vec<ToolSpec>,
    /// Upper bound on generated tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
}

/// Token accounting for one call.
///
/// `prompt_tokens` always includes cached tokens (adapters normalise Anthropic's split
/// counts), so cost = (prompt - cached) * input + cached * cachedInput + completion * output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt_tokens: u64,
    /// Generated tokens (reasoning tokens included).
    pub completion_tokens: u64,
    /// The part of `prompt_tokens` served from the provider's prompt cache.
    pub cached_prompt_tokens: u64,
}

/// The most tokens one inference call may report in any count (2³²; no model comes near).
pub const MAX_REPORTED_TOKENS: u64 = 1 << 32;

impl Usage {
    /// Usage as an upstream reported it, made safe to add up and store: each count capped at
    /// [`MAX_REPORTED_TOKENS`], cached tokens at most the prompt tokens. Upstreams are not
    /// trusted (a tenant's `model.endpoint` answers whatever it likes): unchecked, a claim of
    /// `u64::MAX` tokens overflowed the turn's sums and became a negative `i64` in the monthly
    /// token counter, refunding the budget. Found by the property tests in `providers::prop`.
    pub fn reported(prompt: u64, completion: u64, cached: u64) -> Self {
        let prompt = prompt.min(MAX_REPORTED_TOKENS);
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion.min(MAX_REPORTED_TOKENS),
            cached_prompt_tokens: cached.min(prompt),
        }
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end of the answer.
    #[default]
    Stop,
    /// The token limit was hit.
    Length,
    /// The model wants tool results before continuing.
    ToolCalls,
    /// The provider filtered the output.
    ContentFilter,
    /// Any other provider-specific reason, verbatim.
    Other(String),
}

/// One item of a normalised stream.
///
/// Adapters emit `Usage` (when known) before `Finish`, and `Finish` is always the last
/// item of a successful stream; a stream that ends any other way ends with an error item.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// A fragment of assistant text.
    TextDelta(String),
    /// A tool call begins; `index` orders the calls of this turn.
    ToolCallStart {
        /// Position of the call within the turn.
        index: usize,
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
    },
    /// A fragment of the JSON arguments of the call at `index`.
    ToolCallDelta {
        /// Position of the call within the turn.
        index: usize,
        /// JSON text fragment to append.
        arguments: String,
    },
    /// The model finished.
    Finish {
        /// Why it stopped.
        reason: FinishReason,
    },
    /// Token usage of the call.
    Usage(Usage),
}

/// The stream returned by [`Provider::chat_stream`].
pub type EventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, ProviderError>> + Send>>;

/// An inference backend speaking one wire format.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Provider id (`openai`, `claude`, …).
    fn id(&self) -> &str;
    /// Start a streaming chat completion; resolves once the upstream accepted the request.
    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError>;
    /// A whole completion in one call, for callers that show nothing until it is done
    /// (compaction). The default folds [`Provider::chat_stream`]; adapters whose API has a
    /// non-streaming call (Gemini `generateContent`, Bedrock `converse`) use it instead.
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        collect(self.chat_stream(req).await?).await
    }
    /// Embed each input; the result has one vector per input, in order.
    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ProviderError>;
    /// [`Provider::embed`] with the input tokens the provider billed, when its API reports
    /// them (OpenAI-compatible `usage.prompt_tokens`, Bedrock Titan `inputTextTokenCount`).
    /// The default reports none.
    async fn embed_billed(
        &self,
        model: &str,
        inputs: &[String],
    ) -> Result<Embeddings, ProviderError> {
        Ok(Embeddings {
            vectors: self.embed(model, inputs).await?,
            prompt_tokens: None,
        })
    }
}

/// The vectors of an embeddings call and the input tokens the provider reported for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Embeddings {
    /// One vector per input, in order.
    pub vectors: Vec<Vec<f32>>,
    /// Billed input tokens (capped at [`MAX_REPORTED_TOKENS`]); `None` when not reported.
    pub prompt_tokens: Option<u64>,
}

/// A whole completion: the folded stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatResponse {
    /// Concatenated text.
    pub content: String,
    /// Tool calls in index order; empty arguments are normalised to `{}`.
    pub tool_calls: Vec<ToolCall>,
    /// Token usage (zero when the provider reported none).
    pub usage: Usage,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
}

/// Fold a stream into a [`ChatResponse`]; the first error item is returned as the error.
pub async fn collect(mut stream: EventStream) -> Result<ChatResponse, ProviderError> {
    let mut content = String::new();
    let mut calls: BTreeMap<usize, ToolCall> = BTreeMap::new();
    let mut usage = Usage::default();
    let mut finish = None;
    while let Some(item) = stream.next().await {
        match item? {
            StreamEvent::TextDelta(text) => content.push_str(&text),
            StreamEvent::ToolCallStart { index, id, name } => {
                calls.insert(
                    index,
                    ToolCall {
                        id,
                        name,
                        arguments: String::new(),
                    },
                );
            }
            StreamEvent::ToolCallDelta { index, arguments } => match calls.get_mut(&index) {
                Some(call) => call.arguments.push_str(&arguments),
                None => {
                    return Err(ProviderError::Malformed(format!(
                        "arguments for tool call {index} before its start"
                    )));
                }
            },
            StreamEvent::Usage(u) => usage = u,
            StreamEvent::Finish { reason } => finish = Some(reason),
        }
    }
    // Adapters guarantee a Finish; this guards hand-made streams from silently truncating.
    let finish_reason = finish
        .ok_or_else(|| ProviderError::StreamBroken("stream ended without a finish".into()))?;
    let tool_calls = calls
        .into_values()
        .map(|mut call| {
            if call.arguments.trim().is_empty() {
                call.arguments = "{}".into();
            }
            call
        })
        .collect();
    Ok(ChatResponse {
        content,
        tool_calls,
        usage,
        finish_reason,
    })
}
