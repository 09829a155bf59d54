//! AWS Bedrock adapter (`bedrock`) over the Converse API, signed with SigV4.
//!
//! It calls the non-streaming `converse` operation and replays the reply as events:
//! `converse-stream` uses AWS's binary event-stream framing, which is not worth a decoder
//! until Bedrock is a primary target. Embeddings use Titan's `invoke` body shape.

use async_trait::async_trait;
use chrono::Utc;
use futures_util::stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::AwsCredentials;
use super::error::ProviderError;
use super::http::{join, send_json};
use super::sigv4::{self, SignInput};
use super::types::{
    ChatRequest, EventStream, FinishReason, Message, Provider, Role, StreamEvent, Usage,
};

/// SigV4 service name of the Bedrock runtime.
const SERVICE: &str = "bedrock";

/// A client for the Bedrock runtime.
pub struct Bedrock {
    client: reqwest::Client,
    base_url: String,
    creds: AwsCredentials,
}

impl Bedrock {
    /// A client for `base_url` (e.g. `https://bedrock-runtime.us-east-1.amazonaws.com`).
    pub fn new(
        client: reqwest::Client,
        base_url: impl Into<String>,
        creds: AwsCredentials,
    ) -> Self {
        Self {
            client,
            base_url: base_url.into(),
            creds,
        }
    }

    /// POST a signed JSON body to `/model/{model}/{op}`.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        model: &str,
        op: &str,
        body: &Value,
    ) -> Result<T, ProviderError> {
        // Model ids contain ':' (e.g. `…-v1:0`), which must travel percent-encoded.
        let url = join(
            &self.base_url,
            &format!("model/{}/{op}", sigv4::uri_encode(model)),
        );
        let url = reqwest::Url::parse(&url)
            .map_err(|e| ProviderError::InvalidConfig(format!("bedrock url: {e}")))?;
        let payload =
            serde_json::to_vec(body).map_err(|e| ProviderError::InvalidRequest(e.to_string()))?;
        let payload_hash = sigv4::sha256_hex(&payload);
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => {
                return Err(ProviderError::InvalidConfig(
                    "bedrock url has no host".into(),
                ));
            }
        };
        let now = Utc::now();
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), host),
            ("x-amz-content-sha256".to_string(), payload_hash.clone()),
            (
                "x-amz-date".to_string(),
                now.format("%Y%m%dT%H%M%SZ").to_string(),
            ),
        ];
        if let Some(token) = &self.creds.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let input = SignInput {
            method: "POST",
            path: url.path(),
            query: url.query(),
            headers: &headers,
            payload_hash: &payload_hash,
        };
        let auth = sigv4::authorization(&self.creds, SERVICE, &input, now);
        let mut rb = self.client.post(url.clone()).header("authorization", auth);
        // reqwest derives Host from the URL itself; sending it twice would be a protocol error.
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            rb = rb.header(k.as_str(), v.as_str());
        }
        send_json(rb.body(payload)).await
    }
}

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
        // Converse, like Anthropic, wants strictly alternating roles.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConverseResponse {
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_write_input_tokens: u64,
}

#[derive(Deserialize)]
struct TitanEmbedding {
    embedding: Vec<f32>,
}

pub(super) fn into_events(resp: ConverseResponse) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    let mut calls = 0;
    for block in resp.output.message.content {
        if let Some(text) = block.text.filter(|t| !t.is_empty()) {
            events.push(StreamEvent::TextDelta(text));
        }
        if let Some(tu) = block.tool_use {
            let index = calls;
            calls += 1;
            events.push(StreamEvent::ToolCallStart {
                index,
                id: tu.tool_use_id,
                name: tu.name,
            });
            let input = if tu.input.is_null() {
                json!({})
            } else {
                tu.input
            };
            events.push(StreamEvent::ToolCallDelta {
                index,
                arguments: input.to_string(),
            });
        }
    }
    if let Some(u) = resp.usage {
        // Like Anthropic, Bedrock's inputTokens excludes cache reads and writes.
        let prompt = u
            .input_tokens
            .saturating_add(u.cache_read_input_tokens)
            .saturating_add(u.cache_write_input_tokens);
        events.push(StreamEvent::Usage(Usage::reported(
            prompt,
            u.output_tokens,
            u.cache_read_input_tokens,
        )));
    }
    let reason = match resp.stop_reason.as_deref() {
        Some("end_turn" | "stop_sequence") | None => FinishReason::Stop,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("max_tokens") => FinishReason::Length,
        Some("content_filtered" | "guardrail_intervened") => FinishReason::ContentFilter,
        Some(other) => FinishReason::Other(other.to_string()),
    };
    events.push(StreamEvent::Finish { reason });
    events
}

#[async_trait]
impl Provider for Bedrock {
    fn id(&self) -> &str {
        "bedrock"
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
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
        let resp: ConverseResponse = self.call(&req.model, "converse", &body).await?;
        Ok(Box::pin(stream::iter(
            into_events(resp).into_iter().map(Ok),
        )))
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        // Titan embeds one text per call.
        let mut out = Vec::with_capacity(inputs.len());
        for text in inputs {
            let resp: TitanEmbedding = self
                .call(model, "invoke", &json!({ "inputText": text }))
                .await?;
            out.push(resp.embedding);
        }
        Ok(out)
    }
}
