//! A local static embedder in the model2vec format, read from a folder the operator names
//! (`ASTRA_EMBEDDINGS_MODEL_DIR` or `memory.modelDir`); nothing is downloaded. The folder holds
//! `model.safetensors` (one 2-D tensor `embeddings`, `[vocab, dim]`, F32, F16, BF16, F64 or
//! I8 — model2vec's int8 quantization, one scale for the whole table),
//! `tokenizer.json` (a WordPiece tokenizer, see [`tokenizer`]) and optionally `config.json`.
//! A text's vector is the mean of the rows of its token ids (unknown and special tokens left
//! out, at most 512 tokens, as model2vec's `encode` does), L2-normalised whatever the config's
//! `normalize` says — the trait promises unit vectors, and cosine rankings are the same. A text
//! with no known token is the zero vector, like an all-stopword text of the hashing embedder.
//!
//! The model is read once (bounded: 2 GiB of weights as `f32`) and shared by every
//! [`super::Embedders`] of the process.

mod tokenizer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

pub use tokenizer::WordPiece;

use super::{EmbedError, Embedder, normalise};

/// Most bytes of weights held in memory (as `f32`), and so of `model.safetensors`.
pub const MAX_WEIGHT_BYTES: u64 = 2 << 30;
/// Largest `tokenizer.json` or `config.json` read.
const MAX_JSON_BYTES: u64 = 64 << 20;
/// Widest vector accepted.
const MAX_DIM: usize = 4096;
/// Tokens of a text that count (model2vec's `encode` default `max_length`).
const MAX_TOKENS: usize = 512;

/// Why a model folder could not be loaded; the message names the file and the problem.
#[derive(Debug, thiserror::Error)]
#[error("model2vec model {0}")]
pub struct ModelError(String);

fn fail(path: &Path, what: impl std::fmt::Display) -> ModelError {
    ModelError(format!("{}: {what}", path.display()))
}

/// A model2vec static model: a WordPiece tokenizer and a `[vocab, dim]` table of `f32`.
pub struct Model2VecEmbedder {
    id: String,
    dim: usize,
    tokenizer: WordPiece,
    /// Row-major `[rows, dim]`.
    table: Vec<f32>,
}

impl std::fmt::Debug for Model2VecEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model2VecEmbedder")
            .field("id", &self.id)
            .finish()
    }
}

impl Model2VecEmbedder {
    /// Loads the model of folder `dir`; every problem is an error naming the file.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let meta = std::fs::metadata(dir).map_err(|e| fail(dir, e))?;
        if !meta.is_dir() {
            return Err(fail(dir, "not a folder"));
        }
        let tok_path = dir.join("tokenizer.json");
        let tok_json = read_json(&tok_path)?;
        let tokenizer = WordPiece::from_json(&tok_json).map_err(|e| fail(&tok_path, e))?;
        let cfg_path = dir.join("config.json");
        if cfg_path.exists() {
            let cfg = read_json(&cfg_path)?;
            if !cfg.is_object() {
                return Err(fail(&cfg_path, "not a JSON object"));
            }
            if cfg
                .get("vocabulary_quantization")
                .is_some_and(|v| !v.is_null())
            {
                return Err(fail(
                    &cfg_path,
                    "vocabulary-quantized models are not supported",
                ));
            }
        }
        let st_path = dir.join("model.safetensors");
        let (table, rows, dim) = read_table(&st_path)?;
        if rows != tokenizer.vocab_len() || tokenizer.max_id() as usize >= rows {
            return Err(fail(
                &st_path,
                format!(
                    "{rows} rows for a vocabulary of {} tokens (ids up to {})",
                    tokenizer.vocab_len(),
                    tokenizer.max_id()
                ),
            ));
        }
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let name = canonical
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
        Ok(Self {
            id: format!("model2vec:{name}:{dim}"),
            dim,
            tokenizer,
            table,
        })
    }

    /// Dimension of the vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The tokenizer (for tests and diagnostics).
    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// The unit vector of one text (zero when no token of it is known).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        let ids = self.tokenizer.ids(text, MAX_TOKENS);
        for id in &ids {
            let row = *id as usize * self.dim;
            if let Some(r) = self.table.get(row..row + self.dim) {
                v.iter_mut().zip(r).for_each(|(a, b)| *a += b);
            }
        }
        if !ids.is_empty() {
            let n = ids.len() as f32;
            v.iter_mut().for_each(|x| *x /= n);
        }
        normalise(&mut v);
        v
    }
}

#[async_trait]
impl Embedder for Model2VecEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

/// The model of `dir`, loaded on first use and shared by the whole process afterwards.
pub fn shared(dir: &Path) -> Result<Arc<Model2VecEmbedder>, ModelError> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Arc<Model2VecEmbedder>>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(m) = loaded.get(dir) {
        return Ok(m.clone());
    }
    let model = Arc::new(Model2VecEmbedder::load(dir)?);
    loaded.insert(dir.to_path_buf(), model.clone());
    Ok(model)
}

fn read_json(path: &Path) -> Result<Value, ModelError> {
    let len = std::fs::metadata(path).map_err(|e| fail(path, e))?.len();
    if len > MAX_JSON_BYTES {
        return Err(fail(path, format!("{len} bytes, more than 64 MiB")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(path, format!("not JSON: {e}")))
}

/// Reads the embeddings tensor as `f32`: the table, its rows and its dimension.
fn read_table(path: &Path) -> Result<(Vec<f32>, usize, usize), ModelError> {
    let len = std::fs::metadata(path).map_err(|e| fail(path, e))?.len();
    if len > MAX_WEIGHT_BYTES {
        return Err(fail(path, format!("{len} bytes, more than 2 GiB")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| fail(path, e))?;
    let mut names = st.names();
    names.sort_unstable();
    if let Some(n) = names.iter().find(|n| ["weights", "mapping"].contains(*n)) {
        return Err(fail(
            path,
            format!("tensor {n:?}: weighted or vocabulary-quantized models are not supported"),
        ));
    }
    let name = match names.as_slice() {
        _ if names.contains(&"embeddings") => "embeddings",
        [only] => *only,
        _ => {
            return Err(fail(
                path,
                format!("no \"embeddings\" tensor (tensors: {names:?})"),
            ));
        }
    };
    let view = st.tensor(name).map_err(|e| fail(path, e))?;
    let &[rows, dim] = view.shape() else {
        return Err(fail(
            path,
            format!(
                "tensor {name:?} has shape {:?}, not [vocab, dim]",
                view.shape()
            ),
        ));
    };
    if rows == 0 || !(1..=MAX_DIM).contains(&dim) {
        return Err(fail(
            path,
            format!("tensor {name:?} is [{rows}, {dim}]: expected rows and 1-{MAX_DIM} columns"),
        ));
    }
    if (rows as u64).saturating_mul(dim as u64).saturating_mul(4) > MAX_WEIGHT_BYTES {
        return Err(fail(
            path,
            format!("[{rows}, {dim}] as f32 is more than 2 GiB"),
        ));
    }
    let data = view.data();
    let table: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        // model2vec's int8 quantization divides the whole table by one scale, which the
        // final L2 normalisation removes: the integers are the vectors.
        Dtype::I8 => data.iter().map(|b| f32::from(*b as i8)).collect(),
        other => {
            return Err(fail(
                path,
                format!(
                    "tensor {name:?} is {other:?}: only F32, F16, BF16, F64 and I8 are supported"
                ),
            ));
        }
    };
    if let Some(i) = table.iter().position(|x| !x.is_finite()) {
        return Err(fail(
            path,
            format!("row {} holds a non-finite value", i / dim),
        ));
    }
    Ok((table, rows, dim))
}

/// IEEE 754 half precision to single (exact: every `f16` is an `f32`).
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let magnitude = match exp {
        0 => mant as f32 * (1.0 / 16_777_216.0), // subnormal: mant × 2^-24
        31 if mant == 0 => f32::INFINITY,
        31 => f32::NAN,
        _ => f32::from_bits(((exp + 112) << 23) | (mant << 13)),
    };
    sign * magnitude
}

#[cfg(test)]
mod tests;
