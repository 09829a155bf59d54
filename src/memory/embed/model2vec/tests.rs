//! A tiny model folder written by hand: tokenization, embedding, F16 weights, refusals.

use std::path::Path;

use safetensors::{Dtype, tensor::TensorView};
use serde_json::{Value, json};

use super::*;
use crate::memory::embed::dot;

const VOCAB: &[&str] = &[
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "cafe", "dog", "puppy", "##s", "play", "##ing", ",", "!",
    "park", "tax", "report",
];
const DIM: usize = 4;

/// Row `i` of the table: a hand-chosen vector per token.
fn row(i: usize) -> [f32; DIM] {
    match VOCAB[i] {
        "dog" => [1.0, 0.0, 0.0, 0.0],
        "puppy" => [0.9, 0.1, 0.0, 0.0],
        "##s" => [0.0, 0.0, 0.0, 0.1],
        "play" => [0.0, 1.0, 0.0, 0.0],
        "##ing" => [0.0, 0.0, 0.0, 0.2],
        "park" => [0.0, 0.8, 0.2, 0.0],
        "cafe" => [0.0, 0.0, 1.0, 0.0],
        "tax" | "report" => [0.0, 0.0, 0.0, 1.0],
        // Special tokens and punctuation: large, so counting them would show.
        _ => [5.0, 5.0, 5.0, 5.0],
    }
}

fn tokenizer_json() -> Value {
    let vocab: serde_json::Map<String, Value> = VOCAB
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), json!(i)))
        .collect();
    json!({
        "version": "1.0",
        "added_tokens": [
            {"id": 0, "content": "[PAD]", "special": true},
            {"id": 2, "content": "[CLS]", "special": true},
            {"id": 3, "content": "[SEP]", "special": true}
        ],
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 12, "vocab": vocab}
    })
}

fn f32_bytes() -> Vec<u8> {
    (0..VOCAB.len())
        .flat_map(row)
        .flat_map(f32::to_le_bytes)
        .collect()
}

fn write_safetensors(dir: &Path, name: &str, dtype: Dtype, shape: Vec<usize>, data: &[u8]) {
    let view = TensorView::new(dtype, shape, data).expect("view");
    let bytes = safetensors::serialize([(name, view)], None).expect("serialize");
    std::fs::write(dir.join("model.safetensors"), bytes).expect("write");
}

/// A complete folder with F32 weights.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tokenizer.json"),
        tokenizer_json().to_string(),
    )
    .expect("tok");
    std::fs::write(dir.path().join("config.json"), r#"{"normalize": true}"#).expect("cfg");
    write_safetensors(
        dir.path(),
        "embeddings",
        Dtype::F32,
        vec![VOCAB.len(), DIM],
        &f32_bytes(),
    );
    dir
}

fn load_err(dir: &Path) -> String {
    Model2VecEmbedder::load(dir)
        .expect_err("refused")
        .to_string()
}

#[test]
fn tokenizes_like_bert_wordpiece() {
    let dir = folder();
    let m = Model2VecEmbedder::load(dir.path()).expect("load");
    let t = |s: &str| m.tokenizer().tokens(s);
    // Lowercased, accents stripped, punctuation split off, `##` continuations.
    assert_eq!(t("Café, DOGS!"), ["cafe", ",", "dog", "##s", "!"]);
    // Control characters are removed (`\0` joins "the" and "park" into one unknown word).
    assert_eq!(
        t("playing\tin the\u{0}park"),
        ["play", "##ing", "[UNK]", "[UNK]"]
    );
    assert_eq!(t("in\u{a0}the park"), ["[UNK]", "[UNK]", "park"]);
    // A word that cannot be covered entirely is one unknown token, as is an over-long word.
    assert_eq!(t("dogx"), ["[UNK]"]);
    assert_eq!(t("dogsdogsdogsdogs"), ["[UNK]"]);
    // Ids leave out unknown tokens; the literal `[CLS]` text is split as punctuation.
    let ids = m.tokenizer().ids("the dog [CLS]", 512);
    assert_eq!(ids, [5]);
    assert_eq!(m.tokenizer().ids("dog dog dog", 2), [5, 5]);
}

#[test]
fn a_text_is_the_normalised_mean_of_its_token_rows() {
    let dir = folder();
    let m = Model2VecEmbedder::load(dir.path()).expect("load");
    assert_eq!(m.dim(), DIM);
    assert_eq!(
        m.id(),
        format!(
            "model2vec:{}:4",
            dir.path().file_name().unwrap().to_string_lossy()
        )
    );
    // "dog park": mean of [1,0,0,0] and [0,0.8,0.2,0] → normalised; the unknown word and the
    // pieces of a literal "[CLS]" (unknown too) are left out.
    let v = m.vector("Dog zebra park [CLS]");
    let mean = [0.5f32, 0.4, 0.1, 0.0];
    let n = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    for (a, b) in v.iter().zip(mean) {
        assert!((a - b / n).abs() < 1e-6, "{v:?}");
    }
    assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
    // Punctuation in the vocabulary counts, as in model2vec.
    assert!(dot(&v, &m.vector("Dog park!")) < 0.99);
    // Paraphrase-like neighbours rank above an unrelated text.
    let cos = |a: &str, b: &str| dot(&m.vector(a), &m.vector(b));
    assert!(cos("dogs", "puppy") > 0.9);
    assert!(cos("dogs", "tax report") < 0.1);
    // No known token: the zero vector (like an all-stopword text of the hashing embedder).
    assert!(m.vector("unheard of").iter().all(|x| *x == 0.0));
    assert!(m.vector("").iter().all(|x| *x == 0.0));
}

#[test]
fn f16_bf16_and_int8_weights_load_to_the_same_vectors() {
    let dir = folder();
    let f32_model = Model2VecEmbedder::load(dir.path()).expect("f32");
    let halves: Vec<u8> = (0..VOCAB.len())
        .flat_map(row)
        .flat_map(|x| f32_to_f16(x).to_le_bytes())
        .collect();
    write_safetensors(
        dir.path(),
        "embeddings",
        Dtype::F16,
        vec![VOCAB.len(), DIM],
        &halves,
    );
    let f16_model = Model2VecEmbedder::load(dir.path()).expect("f16");
    let brain: Vec<u8> = (0..VOCAB.len())
        .flat_map(row)
        .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
        .collect();
    write_safetensors(
        dir.path(),
        "emb",
        Dtype::BF16,
        vec![VOCAB.len(), DIM],
        &brain,
    );
    let bf16_model = Model2VecEmbedder::load(dir.path()).expect("bf16, lone tensor");
    // int8 as model2vec quantizes: one scale (max |x| / 127) for the whole table.
    let ints: Vec<u8> = (0..VOCAB.len())
        .flat_map(row)
        .map(|x| ((x / 5.0 * 127.0).round() as i8) as u8)
        .collect();
    write_safetensors(
        dir.path(),
        "embeddings",
        Dtype::I8,
        vec![VOCAB.len(), DIM],
        &ints,
    );
    let i8_model = Model2VecEmbedder::load(dir.path()).expect("i8");
    for text in ["dog park", "playing cafe", "tax report"] {
        let a = f32_model.vector(text);
        for b in [
            f16_model.vector(text),
            bf16_model.vector(text),
            i8_model.vector(text),
        ] {
            assert!(dot(&a, &b) > 0.999, "{text}");
        }
    }
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert!(f16_to_f32(0x7c00).is_infinite());
}

/// Round-to-nearest f32 → f16 of normal values, enough for the test's vectors.
fn f32_to_f16(x: f32) -> u16 {
    if x == 0.0 {
        return 0;
    }
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    let mant = (bits & 0x7f_ffff) + 0x1000; // round
    sign | (((exp as u16) << 10) + (mant >> 13) as u16)
}

#[test]
fn malformed_folders_are_refused_naming_the_file_and_the_problem() {
    let missing = load_err(Path::new("/nonexistent/astra-model"));
    assert!(missing.contains("/nonexistent/astra-model"), "{missing}");

    let dir = folder();
    let p = dir.path();
    // Unigram / BPE tokenizers.
    let mut tok = tokenizer_json();
    tok["model"]["type"] = json!("Unigram");
    std::fs::write(p.join("tokenizer.json"), tok.to_string()).unwrap();
    let e = load_err(p);
    assert!(
        e.contains("tokenizer.json") && e.contains("\"Unigram\""),
        "{e}"
    );
    tok["model"]["type"] = json!("WordPiece");
    tok["pre_tokenizer"] = json!({"type": "Metaspace"});
    std::fs::write(p.join("tokenizer.json"), tok.to_string()).unwrap();
    assert!(load_err(p).contains("Metaspace"));
    std::fs::write(p.join("tokenizer.json"), "{not json").unwrap();
    assert!(load_err(p).contains("tokenizer.json: not JSON"));
    std::fs::write(p.join("tokenizer.json"), tokenizer_json().to_string()).unwrap();

    // Weights: wrong dtype, wrong shape, vocabulary mismatch, missing file, garbage.
    let bytes: Vec<u8> = vec![1; VOCAB.len() * DIM * 4];
    write_safetensors(p, "embeddings", Dtype::I32, vec![VOCAB.len(), DIM], &bytes);
    let e = load_err(p);
    assert!(e.contains("model.safetensors") && e.contains("I32"), "{e}");
    write_safetensors(
        p,
        "embeddings",
        Dtype::F32,
        vec![VOCAB.len() * DIM],
        &f32_bytes(),
    );
    assert!(load_err(p).contains("not [vocab, dim]"));
    write_safetensors(
        p,
        "embeddings",
        Dtype::F32,
        vec![VOCAB.len() - 1, DIM],
        &f32_bytes()[..(VOCAB.len() - 1) * DIM * 4],
    );
    assert!(load_err(p).contains("14 rows for a vocabulary of 15 tokens"));
    std::fs::write(p.join("model.safetensors"), b"garbage").unwrap();
    assert!(load_err(p).contains("model.safetensors"));
    std::fs::remove_file(p.join("model.safetensors")).unwrap();
    assert!(load_err(p).contains("model.safetensors"));
    let nan: Vec<u8> = f32_bytes()
        .iter()
        .enumerate()
        .map(|(i, b)| if i < 4 { [0, 0, 0xc0, 0x7f][i] } else { *b })
        .collect();
    write_safetensors(p, "embeddings", Dtype::F32, vec![VOCAB.len(), DIM], &nan);
    assert!(load_err(p).contains("row 0 holds a non-finite value"));

    // Vocabulary-quantized models.
    write_safetensors(
        p,
        "embeddings",
        Dtype::F32,
        vec![VOCAB.len(), DIM],
        &f32_bytes(),
    );
    std::fs::write(p.join("config.json"), r#"{"vocabulary_quantization": 8}"#).unwrap();
    assert!(load_err(p).contains("config.json: vocabulary-quantized"));
    std::fs::write(p.join("config.json"), r#"{"normalize": false}"#).unwrap();
    assert!(Model2VecEmbedder::load(p).is_ok());
}

#[test]
fn shared_loads_once_per_folder() {
    let dir = folder();
    let a = shared(dir.path()).expect("load");
    let b = shared(dir.path()).expect("cached");
    assert!(Arc::ptr_eq(&a, &b));
}
