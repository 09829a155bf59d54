//! The tokenizer of a model2vec folder, written by hand for the format's common case: a
//! HuggingFace `tokenizer.json` whose model is `WordPiece`, with the BERT normalizer
//! (`clean_text`, `handle_chinese_chars`, `strip_accents`, `lowercase`) and the BERT
//! pre-tokenizer (split on whitespace, each punctuation character a word of its own). Other
//! model types (`Unigram`, `BPE`, `WordLevel`), normalizers and pre-tokenizers are refused at
//! load with an error naming them.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// A WordPiece tokenizer with BERT normalisation and pre-tokenisation.
#[derive(Debug)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    /// Id of the unknown token (left out of embeddings, as model2vec does).
    unk: Option<u32>,
    /// Ids of special tokens (`[CLS]`, `[SEP]`, `[PAD]`, …), also left out.
    special: HashSet<u32>,
    prefix: String,
    max_chars: usize,
    norm: Normalizer,
}

/// The BERT normalizer's switches.
#[derive(Debug, Clone, Copy)]
struct Normalizer {
    clean_text: bool,
    chinese_chars: bool,
    strip_accents: bool,
    lowercase: bool,
}

impl WordPiece {
    /// Reads a parsed `tokenizer.json`; the error says what is unsupported or missing.
    pub fn from_json(json: &Value) -> Result<Self, String> {
        let model = json.get("model").ok_or("no \"model\"")?;
        let kind = model.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "WordPiece" {
            return Err(format!(
                "model type {kind:?} is not supported (only WordPiece; Unigram and BPE tokenizers need the `tokenizers` crate)"
            ));
        }
        let vocab: HashMap<String, u32> = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or("model.vocab is not an object")?
            .iter()
            .map(|(k, v)| {
                v.as_u64()
                    .and_then(|id| u32::try_from(id).ok())
                    .map(|id| (k.clone(), id))
                    .ok_or_else(|| format!("model.vocab[{k:?}] is not a token id"))
            })
            .collect::<Result<_, _>>()?;
        if vocab.is_empty() {
            return Err("model.vocab is empty".into());
        }
        let str_of = |key: &str| model.get(key).and_then(Value::as_str);
        let unk = match str_of("unk_token") {
            Some(t) => Some(
                *vocab
                    .get(t)
                    .ok_or_else(|| format!("unk_token {t:?} is not in the vocabulary"))?,
            ),
            None => None,
        };
        pre_tokenizer(json.get("pre_tokenizer"))?;
        let special = json
            .get("added_tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|t| t.get("special").and_then(Value::as_bool) == Some(true))
            .filter_map(|t| t.get("id").and_then(Value::as_u64))
            .filter_map(|id| u32::try_from(id).ok())
            .collect();
        Ok(Self {
            unk,
            special,
            prefix: str_of("continuing_subword_prefix")
                .unwrap_or("##")
                .to_string(),
            max_chars: model
                .get("max_input_chars_per_word")
                .and_then(Value::as_u64)
                .map_or(100, |n| n as usize),
            norm: normalizer(json.get("normalizer"))?,
            vocab,
        })
    }

    /// Number of entries in the vocabulary.
    pub fn vocab_len(&self) -> usize {
        self.vocab.len()
    }

    /// The largest token id.
    pub fn max_id(&self) -> u32 {
        self.vocab.values().copied().max().unwrap_or(0)
    }

    /// Token ids of `text` without the unknown and special tokens, at most `max` of them.
    pub fn ids(&self, text: &str, max: usize) -> Vec<u32> {
        let (mut out, mut word) = (Vec::new(), Vec::new());
        let normal = self.normalise(text);
        for w in pre_tokenize(&normal) {
            if out.len() >= max {
                break;
            }
            word.clear();
            self.word_ids(w, &mut word);
            out.extend(
                word.iter()
                    .filter(|id| Some(**id) != self.unk && !self.special.contains(id)),
            );
        }
        out.truncate(max);
        out
    }

    /// The tokens of `text`, as strings (`[UNK]` marks an unknown word), for tests and tools.
    pub fn tokens(&self, text: &str) -> Vec<String> {
        let by_id: HashMap<u32, &str> = self.vocab.iter().map(|(k, v)| (*v, k.as_str())).collect();
        let mut ids = Vec::new();
        for word in pre_tokenize(&self.normalise(text)) {
            self.word_ids(word, &mut ids);
        }
        ids.iter()
            .map(|id| by_id.get(id).copied().unwrap_or("?").to_string())
            .collect()
    }

    /// Greedy longest-match-first WordPiece of one word; a word that cannot be covered (or is
    /// too long) is the unknown token.
    fn word_ids(&self, word: &str, out: &mut Vec<u32>) {
        let unknown = |out: &mut Vec<u32>| out.extend(self.unk);
        if word.chars().count() > self.max_chars {
            return unknown(out);
        }
        let start_len = out.len();
        let mut start = 0;
        let mut piece = String::new();
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str(&self.prefix);
                }
                piece.push_str(&word[start..end]);
                if let Some(id) = self.vocab.get(&piece) {
                    found = Some(*id);
                    break;
                }
                // Step back one character (not one byte).
                end = word[..end].char_indices().last().map_or(start, |(i, _)| i);
            }
            match found {
                Some(id) => {
                    out.push(id);
                    start = end;
                }
                None => {
                    out.truncate(start_len);
                    return unknown(out);
                }
            }
        }
    }

    fn normalise(&self, text: &str) -> String {
        let n = self.norm;
        let mut s = String::with_capacity(text.len());
        for c in text.chars() {
            if n.clean_text {
                if c == '\0' || c == '\u{fffd}' || is_control(c) {
                    continue;
                }
                if c.is_whitespace() {
                    s.push(' ');
                    continue;
                }
            }
            if n.chinese_chars && is_cjk(c) {
                s.push(' ');
                s.push(c);
                s.push(' ');
            } else {
                s.push(c);
            }
        }
        if n.strip_accents {
            s = s.nfd().filter(|c| !is_combining_mark(*c)).collect();
        }
        if n.lowercase {
            s = s.to_lowercase();
        }
        s
    }
}

/// The normalizer: the BERT one (or none); anything else is refused.
fn normalizer(v: Option<&Value>) -> Result<Normalizer, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Normalizer {
            clean_text: false,
            chinese_chars: false,
            strip_accents: false,
            lowercase: false,
        });
    };
    let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
    if kind != "BertNormalizer" {
        return Err(format!(
            "normalizer {kind:?} is not supported (only BertNormalizer)"
        ));
    }
    let flag = |k: &str, default: bool| v.get(k).and_then(Value::as_bool).unwrap_or(default);
    let lowercase = flag("lowercase", true);
    Ok(Normalizer {
        clean_text: flag("clean_text", true),
        chinese_chars: flag("handle_chinese_chars", true),
        // `null` follows `lowercase`, as in the tokenizers library.
        strip_accents: flag("strip_accents", lowercase),
        lowercase,
    })
}

/// The pre-tokenizer must be the BERT one.
fn pre_tokenizer(v: Option<&Value>) -> Result<(), String> {
    let kind = v.and_then(|v| v.get("type")).and_then(Value::as_str);
    match kind {
        Some("BertPreTokenizer") => Ok(()),
        other => Err(format!(
            "pre_tokenizer {:?} is not supported (only BertPreTokenizer)",
            other.unwrap_or("none")
        )),
    }
}

/// Words of a normalised text: split on whitespace, each punctuation character a word.
fn pre_tokenize(text: &str) -> impl Iterator<Item = &str> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_punctuation(c) {
            if let Some(s) = start.take() {
                words.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                words.push(&text[i..i + c.len_utf8()]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    words.into_iter()
}

/// ASCII punctuation (symbols such as `$` and `+` included, as BERT does) and the common
/// Unicode punctuation blocks (Latin-1, General Punctuation, CJK, full-width forms).
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿')
        || ('\u{2010}'..='\u{2027}').contains(&c)
        || ('\u{2030}'..='\u{205e}').contains(&c)
        || ('\u{3001}'..='\u{3003}').contains(&c)
        || ('\u{3008}'..='\u{3011}').contains(&c)
        || ('\u{ff01}'..='\u{ff0f}').contains(&c)
        || ('\u{ff1a}'..='\u{ff20}').contains(&c)
}

/// Control and format characters other than tab, newline and carriage return.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r')
        && (c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

/// CJK ideographs, which BERT makes words of their own.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}
