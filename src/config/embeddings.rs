//! The `memory:` section of `astra.yml`: which embedder indexes memory by default, the HTTP
//! embeddings endpoint, the folder of a local model2vec model, and the knobs of hybrid retrieval (RRF `k`, weights, scan bound).
//! Defined here so `config` needs no feature module (`memory::embed` reads it).

use serde::Deserialize;
use serde_json::Value;

/// An OpenAI-compatible (or any configured provider's) embeddings model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpEmbeddings {
    /// A provider of `inference.providers` (its base URL, key, breaker and retries are used).
    pub provider: String,
    /// The embeddings model, e.g. `text-embedding-3-small`.
    pub model: String,
}

/// The `memory:` section of `astra.yml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct EmbeddingsConfig {
    /// The embedder of workspaces without a `memoryEmbedder` setting: `hashing` (default,
    /// offline), `http` (needs `http`) or `model2vec` (needs `model_dir`; the default when a
    /// model folder is named and the embedder is not). `ASTRA_MEMORY_EMBEDDER` overrides it.
    pub embedder: String,
    /// Folder of a local model2vec model (`model.safetensors`, `tokenizer.json`,
    /// `config.json`); `ASTRA_EMBEDDINGS_MODEL_DIR` overrides it.
    pub model_dir: Option<String>,
    /// Dimension of the hashing embedder (64–4096, default 512).
    pub hashing_dim: usize,
    /// The HTTP embeddings model, if any.
    pub http: Option<HttpEmbeddings>,
    /// Vectors less similar than this to the query are no match (default 0.12: unrelated
    /// texts of the hashing embedder score about ±0.1 by bucket collisions).
    pub min_cosine: f32,
    /// Reciprocal-rank-fusion constant (default 60).
    pub rrf_k: f64,
    /// Weight of the vector ranking in the fusion (default 0.7).
    pub vector_weight: f64,
    /// Weight of the keyword ranking in the fusion (default 0.3).
    pub keyword_weight: f64,
    /// Most vectors a vector search reads and scores for one user in one workspace, newest
    /// first (default 20 000; `ASTRA_MEMORY_VECTOR_MAX_SCAN`).
    pub max_scan: usize,
    /// The same bound for the memory block of a turn (default 64), which runs before every
    /// inference and so reads fewer vectors.
    pub turn_max_scan: usize,
    /// Chunks the background batcher embeds per round (default 64).
    pub batch_size: usize,
}

impl Default for EmbeddingsConfig {
    fn default() -> Self {
        Self {
            embedder: "hashing".into(),
            hashing_dim: 512,
            http: None,
            model_dir: None,
            min_cosine: 0.12,
            rrf_k: 60.0,
            vector_weight: 0.7,
            keyword_weight: 0.3,
            max_scan: 20_000,
            turn_max_scan: 64,
            batch_size: 64,
        }
    }
}

impl EmbeddingsConfig {
    /// The section merged with the environment (which wins), validated.
    pub fn from_sources(
        section: &Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let mut cfg: Self = super::file::section(section, "memory")?;
        if let Some(v) = env("ASTRA_EMBEDDINGS_MODEL_DIR").filter(|v| !v.is_empty()) {
            cfg.model_dir = Some(v);
        }
        let explicit = section.get("embedder").is_some();
        if let Some(v) = env("ASTRA_MEMORY_EMBEDDER") {
            cfg.embedder = v;
        } else if !explicit && cfg.model_dir.is_some() {
            // A named model folder is meant to be used.
            cfg.embedder = "model2vec".into();
        }
        if let Some(v) = env("ASTRA_MEMORY_VECTOR_MAX_SCAN") {
            cfg.max_scan = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                anyhow::anyhow!("ASTRA_MEMORY_VECTOR_MAX_SCAN: expected a positive integer")
            })?;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> anyhow::Result<()> {
        match self.embedder.as_str() {
            "hashing" => {}
            "http" if self.http.is_some() => {}
            "http" => anyhow::bail!("memory.embedder: http needs memory.http {{provider, model}}"),
            "model2vec" if self.model_dir.is_some() => {}
            "model2vec" => anyhow::bail!(
                "memory.embedder: model2vec needs ASTRA_EMBEDDINGS_MODEL_DIR (or memory.modelDir)"
            ),
            other => {
                anyhow::bail!("memory.embedder: expected hashing, http or model2vec, got {other:?}")
            }
        }
        if !(64..=4096).contains(&self.hashing_dim) {
            anyhow::bail!("memory.hashingDim: expected 64-4096");
        }
        if !(-1.0..=1.0).contains(&self.min_cosine) {
            anyhow::bail!("memory.minCosine: expected -1 to 1");
        }
        if self.rrf_k.is_nan() || self.rrf_k <= 0.0 {
            anyhow::bail!("memory.rrfK: expected a positive number");
        }
        let (v, k) = (self.vector_weight, self.keyword_weight);
        if v.is_nan() || k.is_nan() || v < 0.0 || k < 0.0 || v + k <= 0.0 {
            anyhow::bail!("memory.vectorWeight/keywordWeight: expected non-negative, not both 0");
        }
        if self.max_scan == 0 || self.turn_max_scan == 0 || !(1..=2048).contains(&self.batch_size) {
            anyhow::bail!("memory.maxScan must be positive and memory.batchSize 1-2048");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let none = |_: &str| None;
        let cfg = EmbeddingsConfig::from_sources(&Value::Null, &none).expect("defaults");
        assert_eq!(cfg, EmbeddingsConfig::default());
        let section = serde_json::json!({"embedder": "http", "http": {"provider": "openai", "model": "m"}, "rrfK": 10});
        let cfg = EmbeddingsConfig::from_sources(&section, &none).expect("http");
        assert_eq!(cfg.embedder, "http");
        assert_eq!(cfg.rrf_k, 10.0);
        let bad = serde_json::json!({"embedder": "http"});
        assert!(EmbeddingsConfig::from_sources(&bad, &none).is_err());
        let env = |k: &str| (k == "ASTRA_MEMORY_EMBEDDER").then(|| "nope".to_string());
        assert!(EmbeddingsConfig::from_sources(&Value::Null, &env).is_err());
    }

    #[test]
    fn a_model_folder_makes_model2vec_the_default_unless_an_embedder_is_named() {
        let dir = |k: &str| (k == "ASTRA_EMBEDDINGS_MODEL_DIR").then(|| "/m/potion".to_string());
        let cfg = EmbeddingsConfig::from_sources(&Value::Null, &dir).expect("dir");
        assert_eq!(cfg.embedder, "model2vec");
        assert_eq!(cfg.model_dir.as_deref(), Some("/m/potion"));
        let hashing = serde_json::json!({"embedder": "hashing"});
        let cfg = EmbeddingsConfig::from_sources(&hashing, &dir).expect("explicit");
        assert_eq!(cfg.embedder, "hashing");
        let section = serde_json::json!({"modelDir": "/m/yaml"});
        let none = |_: &str| None;
        let cfg = EmbeddingsConfig::from_sources(&section, &none).expect("yaml");
        assert_eq!(
            (cfg.embedder.as_str(), cfg.model_dir.as_deref()),
            ("model2vec", Some("/m/yaml"))
        );
        let bad = serde_json::json!({"embedder": "model2vec"});
        let e = EmbeddingsConfig::from_sources(&bad, &none).expect_err("no folder");
        assert!(e.to_string().contains("ASTRA_EMBEDDINGS_MODEL_DIR"), "{e}");
    }
}
