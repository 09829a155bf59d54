//! AWS Bedrock adapter (`bedrock`) over the Converse API, signed with SigV4.
//!
//! Streaming uses `converse-stream`, whose body is AWS's binary event-stream framing
//! ([`super::eventstream`]) carrying one JSON event per frame ([`stream`]); the
//! non-streaming [`Provider::chat`] uses `converse` ([`converse`]). Embeddings use Titan's
//! `invoke` body shape.

pub(crate) mod converse;
mod stream;
mod wire;

use async_trait::async_trait;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ProviderError;
use super::eventstream::FrameDecoder;
use super::http::{join, send, send_json};
use super::sigv4::{self, SignInput};
use super::sse;
use super::types::{
    ChatRequest, ChatResponse, Embeddings, EventStream, MAX_REPORTED_TOKENS, Provider,
};
use crate::config::inference::AwsCredentials;

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

    /// A signed POST of the JSON `body` to `/model/{model}/{op}`.
    fn signed(
        &self,
        model: &str,
        op: &str,
        body: &Value,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
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
        Ok(rb.body(payload))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanEmbedding {
    embedding: Vec<f32>,
    input_text_token_count: Option<u64>,
}

#[async_trait]
impl Provider for Bedrock {
    fn id(&self) -> &str {
        "bedrock"
    }

    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let rb = self.signed(&req.model, "converse-stream", &wire::body(req))?;
        let resp = send(rb).await?;
        Ok(sse::decode_with(
            resp.bytes_stream(),
            FrameDecoder::new(),
            stream::FrameEvents::default(),
        ))
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let rb = self.signed(&req.model, "converse", &wire::body(req))?;
        let resp: converse::ConverseResponse = send_json(rb).await?;
        Ok(resp.into())
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        Ok(self.embed_billed(model, inputs).await?.vectors)
    }

    async fn embed_billed(
        &self,
        model: &str,
        inputs: &[String],
    ) -> Result<Embeddings, ProviderError> {
        // Titan embeds one text per call.
        let mut out = Embeddings::default();
        let mut tokens: Option<u64> = None;
        for text in inputs {
            let rb = self.signed(model, "invoke", &json!({ "inputText": text }))?;
            let resp: TitanEmbedding = send_json(rb).await?;
            out.vectors.push(resp.embedding);
            if let Some(n) = resp.input_text_token_count {
                tokens = Some(
                    tokens
                        .unwrap_or(0)
                        .saturating_add(n.min(MAX_REPORTED_TOKENS)),
                );
            }
        }
        out.prompt_tokens = tokens.map(|t| t.min(MAX_REPORTED_TOKENS));
        Ok(out)
    }
}
