//! Embedders: text to unit-length `f32` vectors for the semantic side of memory search.
//!
//! Three implementations: [`HashingEmbedder`] (feature hashing of words, word pairs and
//! character n-grams — deterministic, offline, the default and the weakest: it matches typos,
//! word forms and partial words, not paraphrases), [`HttpEmbedder`] (any configured
//! provider's embeddings endpoint, OpenAI-compatible `/v1/embeddings` included, through the
//! provider layer's timeout, retries and circuit breaker) and [`Model2VecEmbedder`] (a local
//! static model in the model2vec format, read once from the folder the operator names). A
//! workspace picks one with its `memoryEmbedder` setting (`hashing` | `http` | `model2vec`);
//! the default comes from `astra.yml` (`memory.embedder`). Every stored vector records the id of the embedder that wrote it.
//! What an HTTP embedder is billed becomes usage rows ([`usage`]).

mod hashing;
mod http;
pub mod model2vec;
pub mod usage;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use hashing::HashingEmbedder;
pub use http::HttpEmbedder;
pub use model2vec::{Model2VecEmbedder, ModelError};

use crate::config::embeddings::EmbeddingsConfig;
use crate::providers::{Pricing, ProviderError, registry::ProviderRegistry};

/// The workspace setting that chooses the embedder.
pub const WORKSPACE_SETTING: &str = "memoryEmbedder";

/// Why an embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The provider failed (after its retries) or its breaker is open.
    #[error("embeddings provider: {0}")]
    Provider(#[from] ProviderError),
    /// The provider answered with something unusable.
    #[error("embeddings malformed: {0}")]
    Malformed(String),
}

/// Turns texts into unit-length vectors.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Stable id recorded with every vector (`hashing-v1-512`, `http:openai:text-embedding-3-small`).
    fn id(&self) -> &str;
    /// One L2-normalised vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// [`Embedder::embed`] with what a provider billed for it (`None` for local embedders,
    /// the default).
    async fn embed_metered(&self, texts: &[String]) -> Result<Embedded, EmbedError> {
        Ok(Embedded {
            vectors: self.embed(texts).await?,
            billed: None,
        })
    }
}

/// Vectors and what they were billed.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// One unit vector per text, in order.
    pub vectors: Vec<Vec<f32>>,
    /// The provider's bill, for an HTTP embedder.
    pub billed: Option<Billed>,
}

/// Input tokens an embeddings provider billed for one [`Embedder::embed_metered`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Billed {
    /// Provider id (`openai`, …).
    pub provider: String,
    /// The embeddings model.
    pub model: String,
    /// Input tokens: as reported, or estimated (characters / 4) where the provider reports
    /// none (Gemini).
    pub prompt_tokens: u64,
}

/// The embedders this process can use and the retrieval settings.
#[derive(Clone)]
pub struct Embedders {
    config: EmbeddingsConfig,
    hashing: Arc<HashingEmbedder>,
    http: Option<Arc<HttpEmbedder>>,
    model2vec: Option<Arc<Model2VecEmbedder>>,
    pricing: Option<Arc<Pricing>>,
}

impl std::fmt::Debug for Embedders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedders")
            .field("default", &self.config.embedder)
            .field("http", &self.http.as_ref().map(|h| h.id().to_string()))
            .field(
                "model2vec",
                &self.model2vec.as_ref().map(|m| m.id().to_string()),
            )
            .finish()
    }
}

impl Embedders {
    /// Loads the model2vec model of `config.model_dir`, if any, once for the process: start-up
    /// calls it so a missing or malformed folder stops the server with the file named.
    pub fn preload(config: &EmbeddingsConfig) -> Result<(), ModelError> {
        match &config.model_dir {
            Some(dir) => model2vec::shared(std::path::Path::new(dir)).map(|_| ()),
            None => Ok(()),
        }
    }

    /// The hashing embedder, plus the HTTP one when `config.http` names a model and the
    /// providers (with the price table that costs their usage) are given, plus the model2vec
    /// one when `config.model_dir` names a folder (loaded once, see [`Embedders::preload`]; a
    /// folder that fails to load here is logged and left out).
    pub fn new(
        config: &EmbeddingsConfig,
        upstream: Option<(Arc<ProviderRegistry>, Arc<Pricing>)>,
    ) -> Self {
        let (http, pricing) = match (&config.http, upstream) {
            (Some(h), Some((reg, pricing))) => (
                Some(Arc::new(HttpEmbedder::new(reg, &h.provider, &h.model))),
                Some(pricing),
            ),
            (None, Some((_, pricing))) => (None, Some(pricing)),
            _ => (None, None),
        };
        let model2vec = config.model_dir.as_ref().and_then(|dir| {
            model2vec::shared(std::path::Path::new(dir))
                .inspect_err(|e| tracing::error!(error = %e, "model2vec embedder unavailable"))
                .ok()
        });
        Self {
            config: config.clone(),
            hashing: Arc::new(HashingEmbedder::new(config.hashing_dim)),
            http,
            model2vec,
            pricing,
        }
    }

    /// The retrieval settings.
    pub fn config(&self) -> &EmbeddingsConfig {
        &self.config
    }

    /// The price table that costs embedding usage (`None` without providers).
    pub fn pricing(&self) -> Option<&Pricing> {
        self.pricing.as_deref()
    }

    /// The embedder named `name` (`hashing`, `http` or `model2vec`), if available.
    pub fn named(&self, name: &str) -> Option<Arc<dyn Embedder>> {
        match name {
            "hashing" => Some(self.hashing.clone()),
            "http" => self.http.clone().map(|h| h as Arc<dyn Embedder>),
            "model2vec" => self.model2vec.clone().map(|m| m as Arc<dyn Embedder>),
            _ => None,
        }
    }

    /// The embedder of a workspace: its `memoryEmbedder` setting when that names an available
    /// embedder, else the configured default (else hashing).
    pub fn for_settings(&self, settings: &Value) -> Arc<dyn Embedder> {
        settings
            .get(WORKSPACE_SETTING)
            .and_then(Value::as_str)
            .and_then(|n| self.named(n))
            .or_else(|| self.named(&self.config.embedder))
            .unwrap_or_else(|| self.hashing.clone())
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalise(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product, written as eight independent lanes so the compiler vectorises it; on unit
/// vectors it is the cosine similarity.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// The compact storage form: little-endian `f32`s.
pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decodes [`to_bytes`] into `out` (cleared first); trailing bytes that make no whole `f32`
/// are ignored.
pub fn from_bytes(bytes: &[u8], out: &mut Vec<f32>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_dot_matches_naive() {
        let v: Vec<f32> = (0..19).map(|i| i as f32 * 0.25 - 2.0).collect();
        let mut back = Vec::new();
        from_bytes(&to_bytes(&v), &mut back);
        assert_eq!(back, v);
        let naive: f32 = v.iter().map(|x| x * x).sum();
        assert!((dot(&v, &v) - naive).abs() < 1e-4);
        let mut u = v.clone();
        normalise(&mut u);
        assert!((dot(&u, &u) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn workspace_setting_chooses_an_available_embedder() {
        let e = Embedders::new(&EmbeddingsConfig::default(), None);
        let id = |s: Value| e.for_settings(&s).id().to_string();
        assert_eq!(id(serde_json::json!({})), "hashing-v1-512");
        // `http` is not configured: the default stands.
        assert_eq!(
            id(serde_json::json!({"memoryEmbedder": "http"})),
            "hashing-v1-512"
        );
        // Nor is model2vec (no model folder).
        assert_eq!(
            id(serde_json::json!({"memoryEmbedder": "model2vec"})),
            "hashing-v1-512"
        );
    }
}
