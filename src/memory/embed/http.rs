//! Embeddings from a configured provider (`/v1/embeddings` on OpenAI-compatible servers:
//! OpenAI, Ollama, vLLM, …; Gemini and Bedrock through their adapters), in batches, through
//! the provider layer's timeout, retries and circuit breaker. Each call reports the input
//! tokens billed (as the provider reports them, else estimated at four characters a token).

use std::sync::Arc;

use async_trait::async_trait;

use super::{Billed, EmbedError, Embedded, Embedder, normalise};
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
        Ok(self.embed_metered(texts).await?.vectors)
    }

    async fn embed_metered(&self, texts: &[String]) -> Result<Embedded, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        let mut tokens: u64 = 0;
        for batch in texts.chunks(BATCH) {
            let inputs: Vec<String> = batch
                .iter()
                .map(|t| t.chars().take(MAX_CHARS).collect())
                .collect();
            let target = Target::new(&self.provider, &self.model);
            let got = embed_resilient(&self.registry, target, &inputs).await?;
            if got.vectors.len() != inputs.len() {
                return Err(EmbedError::Malformed(format!(
                    "{} vectors for {} inputs",
                    got.vectors.len(),
                    inputs.len()
                )));
            }
            let billed = got
                .prompt_tokens
                .unwrap_or_else(|| estimate_tokens(&inputs));
            tokens = tokens.saturating_add(billed);
            for mut v in got.vectors {
                if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
                    return Err(EmbedError::Malformed("empty or non-finite vector".into()));
                }
                normalise(&mut v);
                out.push(v);
            }
        }
        Ok(Embedded {
            vectors: out,
            billed: (!texts.is_empty()).then(|| Billed {
                provider: self.provider.clone(),
                model: self.model.clone(),
                prompt_tokens: tokens,
            }),
        })
    }
}

/// Input tokens of a batch whose provider reported none: about four characters a token.
fn estimate_tokens(inputs: &[String]) -> u64 {
    inputs
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum()
}
