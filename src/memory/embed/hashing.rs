//! The offline default: feature hashing of words, light stems, word pairs and character 3- and
//! 4-grams into a fixed number of signed buckets, L2-normalised. Deterministic (FNV-1a, no
//! seed), no model, no network. Character n-grams make typos, word forms and partial words
//! land near each other; nothing makes paraphrases ("dog" / "puppy") do so — that needs a
//! learned model (the HTTP embedder).

use async_trait::async_trait;

use super::{EmbedError, Embedder, normalise};

/// Words too common to say anything about a memory.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "been", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have",
    "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "me", "my",
    "no", "not", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them",
    "then", "there", "they", "this", "to", "up", "us", "was", "we", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// Weight of a whole word.
const W_WORD: f32 = 1.0;
/// Weight of a word's stem (suffix stripped).
const W_STEM: f32 = 0.6;
/// Weight of a pair of neighbouring words.
const W_PAIR: f32 = 0.4;
/// Total weight of a word's character n-grams (shared among them).
const W_GRAMS: f32 = 2.0;

/// Feature-hashing embedder of a fixed dimension.
pub struct HashingEmbedder {
    dim: usize,
    id: String,
}

impl HashingEmbedder {
    /// An embedder writing `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Self {
            dim: dim.max(1),
            id: format!("hashing-v1-{dim}"),
        }
    }

    /// The vector of one text (synchronous: it is pure computation).
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dim];
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .collect();
        for (i, w) in words.iter().enumerate() {
            self.add(&mut v, b'w', w.as_bytes(), W_WORD);
            let stem = stem(w);
            self.add(&mut v, b's', stem.as_bytes(), W_STEM);
            if let Some(next) = words.get(i + 1) {
                let pair = format!("{stem} {}", self::stem(next));
                self.add(&mut v, b'p', pair.as_bytes(), W_PAIR);
            }
            let chars: Vec<char> = std::iter::once('<')
                .chain(w.chars())
                .chain(std::iter::once('>'))
                .collect();
            let grams: Vec<String> = [3usize, 4]
                .iter()
                .filter(|n| chars.len() >= **n)
                .flat_map(|n| chars.windows(*n).map(|g| g.iter().collect::<String>()))
                .collect();
            if !grams.is_empty() {
                let each = W_GRAMS / (grams.len() as f32).sqrt();
                for g in &grams {
                    self.add(&mut v, b'g', g.as_bytes(), each);
                }
            }
        }
        normalise(&mut v);
        v
    }

    fn add(&self, v: &mut [f32], kind: u8, feature: &[u8], weight: f32) {
        let h = fnv1a(kind, feature);
        let slot = (h % self.dim as u64) as usize;
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[slot] += sign * weight;
    }
}

/// FNV-1a (64-bit) of a kind byte and the feature.
fn fnv1a(kind: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in std::iter::once(&kind).chain(bytes) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A crude English stem: common inflection suffixes stripped when enough of the word stays.
fn stem(word: &str) -> &str {
    for suffix in [
        "ingly", "ings", "ing", "edly", "ies", "ied", "ed", "es", "ly", "s",
    ] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            return base;
        }
    }
    word
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::embed::dot;

    #[test]
    fn deterministic_unit_vectors_that_match_typos_and_word_forms() {
        let e = HashingEmbedder::new(512);
        let a = e.vector("I adopted a puppy called Rex");
        assert_eq!(a, e.vector("I adopted a puppy called Rex"));
        assert_eq!(a.len(), 512);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        let cos = |x: &str, y: &str| dot(&e.vector(x), &e.vector(y));
        // A typo and a word form score far above an unrelated text.
        let unrelated = cos("marmalade recipe", "quarterly tax report");
        assert!(cos("marmalade recipe", "marmelade") > 0.25);
        assert!(cos("gardening on sundays", "garden") > 0.3);
        assert!(unrelated < 0.15, "{unrelated}");
        assert!(e.vector("the and of").iter().all(|x| *x == 0.0));
    }
}
