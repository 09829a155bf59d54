//! Google Gemini adapter (`gemini`): `streamGenerateContent?alt=sse` with function calling
//! and usage metadata, the non-streaming `generateContent` (same body, one reply shaped like
//! a stream chunk), and `embedContent` / `batchEmbedContents`.

use std::collections::HashMap;

use async_trait::async_trait;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ProviderError;
use super::http::{join, send, send_json};
use super::sse::{self, Decoder, SseEvent};
use super::types::{
    ChatRequest, ChatResponse, EventStream, FinishReason, Message, Provider, Role, StreamEvent,
    Usage, collect,
};

/// A client for the Gemini API.
pub struct Gemini {
    client: reqwest::Client,
    base_url: String,
    api_key: Option<String>,
}

impl Gemini {
    /// A client for `base_url` (e.g. `https://generativelanguage.googleapis.com`); without a
    /// key no `x-goog-api-key` is sent.
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

    fn post(&self, model: &str, method: &str) -> reqwest::RequestBuilder {
        let model = model.strip_prefix("models/").unwrap_or(model);
        // The key goes in a header, not `?key=`, so it never appears in logged URLs.
        let rb = self.client.post(join(
            &self.base_url,
            &format!("v1beta/models/{model}:{method}"),
        ));
        match &self.api_key {
            Some(key) => rb.header("x-goog-api-key", key),
            None => rb,
        }
    }
}

/// Gemini accepts only an OpenAPI subset of JSON Schema; drop the keys it rejects.
fn clean_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "$schema" | "additionalProperties"))
                .map(|(k, v)| (k.clone(), clean_schema(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(clean_schema).collect()),
        other => other.clone(),
    }
}

fn wire_contents(messages: &[Message]) -> (Option<String>, Vec<Value>) {
    let mut system: Vec<&str> = Vec::new();
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, parts) = match m.role {
            Role::System => {
                system.push(&m.content);
                continue;
            }
            Role::User => ("user", vec![json!({"text": m.content})]),
            Role::Assistant => {
                let mut parts = Vec::new();
                if !m.content.is_empty() {
                    parts.push(json!({"text": m.content}));
                }
                for c in &m.tool_calls {
                    names.insert(&c.id, &c.name);
                    let args: Value =
                        serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    parts.push(json!({"functionCall": {"name": c.name, "args": args}}));
                }
                ("model", parts)
            }
            Role::Tool => {
                // Gemini links results by function name, not by call id.
                let name = m.name.as_deref().filter(|n| !n.is_empty()).or_else(|| {
                    m.tool_call_id
                        .as_deref()
                        .and_then(|id| names.get(id).copied())
                });
                let response = match serde_json::from_str::<Value>(&m.content) {
                    Ok(Value::Object(obj)) => Value::Object(obj),
                    Ok(other) => json!({"result": other}),
                    Err(_) => json!({"result": m.content}),
                };
                (
                    "user",
                    vec![
                        json!({"functionResponse": {"name": name.unwrap_or_default(), "response": response}}),
                    ],
                )
            }
        };
        match out.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => out.push((role, parts)),
        }
    }
    let system = (!system.is_empty()).then(|| system.join("\n\n"));
    let contents = out
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    (system, contents)
}

/// The request body shared by `generateContent` and `streamGenerateContent`.
fn body(req: &ChatRequest) -> Value {
    let (system, contents) = wire_contents(&req.messages);
    let mut body = json!({ "contents": contents });
    if let Some(system) = system {
        body["systemInstruction"] = json!({"parts": [{"text": system}]});
    }
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "parameters": clean_schema(&t.parameters)}))
            .collect();
        body["tools"] = json!([{ "functionDeclarations": decls }]);
    }
    let mut generation = serde_json::Map::new();
    if let Some(max) = req.max_tokens {
        generation.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        generation.insert("temperature".into(), json!(t));
    }
    if !generation.is_empty() {
        body["generationConfig"] = Value::Object(generation);
    }
    body
}

#[async_trait]
impl Provider for Gemini {
    fn id(&self) -> &str {
        "gemini"
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let rb = self
            .post(&req.model, "streamGenerateContent?alt=sse")
            .json(&body(req));
        let resp = send(rb).await?;
        Ok(sse::decode(resp.bytes_stream(), ChunkDecoder::default()))
    }

    /// `generateContent`: the reply is one chunk holding the whole answer.
    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let rb = self.post(&req.model, "generateContent").json(&body(req));
        let whole: Chunk = send_json(rb).await?;
        let mut decoder = ChunkDecoder::default();
        let mut events = decoder.chunk(whole)?;
        events.extend(decoder.end()?);
        collect(Box::pin(stream::iter(events.into_iter().map(Ok)))).await
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        let model = model.strip_prefix("models/").unwrap_or(model);
        match inputs {
            [] => Ok(Vec::new()),
            [one] => {
                let body = json!({"content": {"parts": [{"text": one}]}});
                let resp: SingleEmbedding =
                    send_json(self.post(model, "embedContent").json(&body)).await?;
                Ok(vec![resp.embedding.values])
            }
            many => {
                let requests: Vec<Value> = many
                    .iter()
                    .map(|t| json!({"model": format!("models/{model}"), "content": {"parts": [{"text": t}]}}))
                    .collect();
                let body = json!({ "requests": requests });
                let resp: BatchEmbedding =
                    send_json(self.post(model, "batchEmbedContents").json(&body)).await?;
                if resp.embeddings.len() != many.len() {
                    return Err(ProviderError::Malformed(format!(
                        "{} embeddings for {} inputs",
                        resp.embeddings.len(),
                        many.len()
                    )));
                }
                Ok(resp.embeddings.into_iter().map(|e| e.values).collect())
            }
        }
    }
}

#[derive(Deserialize)]
struct SingleEmbedding {
    embedding: Values,
}

#[derive(Deserialize)]
struct BatchEmbedding {
    embeddings: Vec<Values>,
}

#[derive(Deserialize)]
struct Values {
    values: Vec<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    #[serde(default)]
    candidates: Vec<Candidate>,
    usage_metadata: Option<UsageMetadata>,
    prompt_feedback: Option<PromptFeedback>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
    function_call: Option<FunctionCall>,
}

#[derive(Deserialize)]
struct FunctionCall {
    id: Option<String>,
    name: String,
    #[serde(default)]
    args: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
}

/// Gemini has no end marker: the stream is complete when a finish reason was seen before
/// the body ended. Usage metadata is cumulative, so the last one wins. The non-streaming
/// reply is one such chunk.
#[derive(Default)]
pub(super) struct ChunkDecoder {
    calls: usize,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
}

impl ChunkDecoder {
    fn chunk(&mut self, chunk: Chunk) -> Result<Vec<StreamEvent>, ProviderError> {
        if let Some(err) = chunk.error {
            return Err(sse::upstream_error(&err));
        }
        if let Some(u) = chunk.usage_metadata {
            self.usage = Some(Usage::reported(
                u.prompt_token_count,
                u.candidates_token_count
                    .saturating_add(u.thoughts_token_count),
                u.cached_content_token_count,
            ));
        }
        if chunk.prompt_feedback.and_then(|f| f.block_reason).is_some() {
            self.finish = Some(FinishReason::ContentFilter);
        }
        let mut out = Vec::new();
        let Some(cand) = chunk.candidates.into_iter().next() else {
            return Ok(out);
        };
        for part in cand.content.map(|c| c.parts).unwrap_or_default() {
            if part.thought {
                continue;
            }
            if let Some(text) = part.text.filter(|t| !t.is_empty()) {
                out.push(StreamEvent::TextDelta(text));
            }
            if let Some(fc) = part.function_call {
                let index = self.calls;
                self.calls += 1;
                let id = fc
                    .id
                    .unwrap_or_else(|| format!("call_{}", uuid::Uuid::now_v7().simple()));
                out.push(StreamEvent::ToolCallStart {
                    index,
                    id,
                    name: fc.name,
                });
                let args = if fc.args.is_null() {
                    json!({})
                } else {
                    fc.args
                };
                out.push(StreamEvent::ToolCallDelta {
                    index,
                    arguments: args.to_string(),
                });
            }
        }
        if let Some(r) = cand.finish_reason {
            self.finish = Some(match r.as_str() {
                "STOP" if self.calls > 0 => FinishReason::ToolCalls,
                "STOP" => FinishReason::Stop,
                "MAX_TOKENS" => FinishReason::Length,
                "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
                    FinishReason::ContentFilter
                }
                other => FinishReason::Other(other.to_string()),
            });
        }
        Ok(out)
    }
}

impl Decoder for ChunkDecoder {
    fn event(&mut self, ev: SseEvent) -> Result<Vec<StreamEvent>, ProviderError> {
        let chunk: Chunk = sse::json(&ev.data)?;
        self.chunk(chunk)
    }

    fn done(&self) -> bool {
        false
    }

    fn end(&mut self) -> Result<Vec<StreamEvent>, ProviderError> {
        let reason = self.finish.take().ok_or_else(|| {
            ProviderError::StreamBroken("stream ended before a finishReason".into())
        })?;
        let mut out: Vec<StreamEvent> = self
            .usage
            .take()
            .map(StreamEvent::Usage)
            .into_iter()
            .collect();
        out.push(StreamEvent::Finish { reason });
        Ok(out)
    }
}
