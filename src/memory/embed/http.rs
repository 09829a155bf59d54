//! Embeddings from a configured provider (`/v1/embeddings` on OpenAI-compatible servers:
//! OpenAI, Ollama, vLLM, …; Gemini and Bedrock through their adapters), in batches, through
//! the provider layer's timeout, retries and circuit breaker.

use std::sync::Arc;

use async_trait::async_trait;

use super::{EmbedError, Embedder, normalise};
use crate::providers::{registry::ProviderRegistry, resilient::embed_resilient, target::Target};

/// Most inputs sent in one request.
const BATCH: usize = 64;
/// Longest input sent, in characters (longer texts are cut).
const MAX_CHARS: usize = 8000;

/// A provider's embeddings model.
pub struct HttpEmbedder {
    registry: Arc<ProviderRegistry>,
    provider: String,
    model: String,
    id: String,
}

impl HttpEmbedder {
    /// `model` of `provider` (a provider of `inference.providers`).
    pub fn new(registry: Arc<ProviderRegistry>, provider: &str, model: &str) -> Self {
        Self {
            registry,
            provider: provider.to_string(),
            model: model.to_string(),
            id: format!("http:{provider}:{model}"),
        }
    }
}

#[async_trait]
impl Embedder for HttpEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            let inputs: Vec<String> = batch
                .iter()
                .map(|t| t.chars().take(MAX_CHARS).collect())
                .collect();
            let target = Target::new(&self.provider, &self.model);
            let vectors = embed_resilient(&self.registry, target, &inputs).await?;
            if vectors.len() != inputs.len() {
                return Err(EmbedError::Malformed(format!(
                    "{} vectors for {} inputs",
                    vectors.len(),
                    inputs.len()
                )));
            }
            for mut v in vectors {
                if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
                    return Err(EmbedError::Malformed("empty or non-finite vector".into()));
                }
                normalise(&mut v);
                out.push(v);
            }
        }
        Ok(out)
    }
}
