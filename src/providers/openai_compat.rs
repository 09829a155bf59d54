//! OpenAI Chat Completions adapter (streaming, tool calls, embeddings), also serving Groq,
//! xAI, Mistral, OpenRouter, Ollama, vLLM and any OpenAI-compatible endpoint.

use std::collections::HashSet;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ProviderError;
use super::http::{join, send, send_json};
use super::sse::{self, Decoder, SseEvent};
use super::types::{
    ChatRequest, Embeddings, EventStream, FinishReason, MAX_REPORTED_TOKENS, Message, Provider,
    Role, StreamEvent, Usage,
};

/// A client for one OpenAI-compatible endpoint.
pub struct OpenAiCompat {
    id: String,
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
}

impl OpenAiCompat {
    /// A client for `base_url` (e.g. `https://api.openai.com/v1`) under provider id `id`.
    pub fn new(
        id: impl Into<String>,
        client: reqwest::Client,
        base_url: impl Into<String>,
        api_key: Option<String>,
    ) -> Self {
        Self {
            id: id.into(),
            client,
            base_url: base_url.into(),
            api_key,
        }
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let rb = self.client.post(join(&self.base_url, path));
        match &self.api_key {
            Some(key) => rb.bearer_auth(key),
            None => rb,
        }
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let mut body = json!({
            "model": req.model,
            "messages": req.messages.iter().map(wire_message).collect::<Vec<_>>(),
            "stream": true,
        });
        // Mistral rejects unknown fields and reports usage in its last chunk anyway.
        if self.id != "mistral" {
            body["stream_options"] = json!({ "include_usage": true });
        }
        if !req.tools.is_empty() {
            body["tools"] = req
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    }})
                })
                .collect();
        }
        if let Some(max) = req.max_tokens {
            // OpenAI's reasoning models refuse `max_tokens`; compatible servers only know it.
            let field = if self.id == "openai" {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body[field] = json!(max);
        }
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

fn wire_message(m: &Message) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": m.content}),
        Role::Assistant => {
            let mut v = json!({"role": "assistant", "content": m.content});
            if !m.tool_calls.is_empty() {
                if m.content.is_empty() {
                    v["content"] = Value::Null;
                }
                v["tool_calls"] = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function",
                               "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect();
            }
            v
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id,
            "content": m.content,
        }),
    }
}

#[async_trait]
impl Provider for OpenAiCompat {
    fn id(&self) -> &str {
        &self.id
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let resp = send(self.post("chat/completions").json(&self.body(req))).await?;
        Ok(sse::decode(resp.bytes_stream(), ChunkDecoder::default()))
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        Ok(self.embed_billed(model, inputs).await?.vectors)
    }

    async fn embed_billed(
        &self,
        model: &str,
        inputs: &[String],
    ) -> Result<Embeddings, ProviderError> {
        if inputs.is_empty() {
            return Ok(Embeddings::default());
        }
        let body = json!({ "model": model, "input": inputs });
        let resp: EmbeddingResponse = send_json(self.post("embeddings").json(&body)).await?;
        let mut data = resp.data;
        data.sort_by_key(|d| d.index);
        if data.len() != inputs.len() {
            return Err(ProviderError::Malformed(format!(
                "{} embeddings for {} inputs",
                data.len(),
                inputs.len()
            )));
        }
        Ok(Embeddings {
            vectors: data.into_iter().map(|d| d.embedding).collect(),
            prompt_tokens: resp.usage.map(|u| u.prompt_tokens.min(MAX_REPORTED_TOKENS)),
        })
    }
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
    usage: Option<EmbeddingUsage>,
}

#[derive(Deserialize)]
struct EmbeddingUsage {
    #[serde(default)]
    prompt_tokens: u64,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    #[serde(default)]
    index: usize,
    embedding: Vec<f32>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    usage: Option<WireUsage>,
    /// Groq reports usage here when `stream_options` is not honoured.
    x_groq: Option<XGroq>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct XGroq {
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: usize,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: u64,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage::reported(
            u.prompt_tokens,
            u.completion_tokens,
            u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
        )
    }
}

/// Holds back `Finish` until `[DONE]` (or end of body) so usage, which arrives in a chunk
/// after the finish reason, is emitted first.
#[derive(Default)]
pub(super) struct ChunkDecoder {
    started: HashSet<usize>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    done: bool,
}

impl ChunkDecoder {
    fn closing(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u));
        }
        if let Some(reason) = self.finish.take() {
            out.push(StreamEvent::Finish { reason });
        }
        out
    }
}

impl Decoder for ChunkDecoder {
    fn event(&mut self, ev: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            if self.finish.is_none() {
                return Err(ProviderError::StreamBroken(
                    "[DONE] without a finish reason".into(),
                ));
            }
            return Ok(self.closing());
        }
        let chunk: Chunk = sse::json(&ev.data)?;
        if let Some(err) = chunk.error {
            return Err(sse::upstream_error(&err));
        }
        if let Some(u) = chunk.usage.or(chunk.x_groq.and_then(|x| x.usage)) {
            self.usage = Some(u.into());
        }
        let mut out = Vec::new();
        // Only the first choice is used; Astra never asks for n > 1.
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta(text));
            }
            for tc in choice.delta.tool_calls {
                let (name, args) = match tc.function {
                    Some(f) => (f.name, f.arguments),
                    None => (None, None),
                };
                if self.started.insert(tc.index) {
                    out.push(StreamEvent::ToolCallStart {
                        index: tc.index,
                        id: tc.id.unwrap_or_else(|| format!("call_{}", tc.index)),
                        name: name.unwrap_or_default(),
                    });
                }
                if let Some(arguments) = args.filter(|a| !a.is_empty()) {
                    out.push(StreamEvent::ToolCallDelta {
                        index: tc.index,
                        arguments,
                    });
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(&reason));
            }
        }
        Ok(out)
    }

    fn done(&self) -> bool {
        self.done
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        // Some compatible servers omit [DONE]; a finish reason still proves completeness.
        if self.finish.is_some() {
            Ok(self.closing())
        } else {
            Err(ProviderError::StreamBroken(
                "stream ended before a finish reason".into(),
            ))
        }
    }
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "stop" | "eos" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_string()),
    }
}
