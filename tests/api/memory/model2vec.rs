//! The local model2vec embedder end to end (issue #18): a tiny model folder written by the test
//! (WordPiece vocabulary, hand-chosen vectors in which "dog" and "puppy" are neighbours) is
//! loaded at start-up, the batcher embeds notes with it, and vector search finds a note through
//! a word it does not contain; a workspace opts in with `memoryEmbedder`; a changed default
//! re-queues the workspaces at start-up; a malformed folder stops start-up naming the file.

use std::path::{Path, PathBuf};

use astra::memory::{embed::Embedders, indexer::requeue_stale};
use astra::store::VectorScan;
use reqwest::Method;
use safetensors::{Dtype, tensor::TensorView};
use serde_json::{Value, json};

use super::support::{Mem, indexed};
use crate::helpers::{TestDb, spawn_app_with, test_config};

const DIM: usize = 8;

/// Token and vector: dogs and puppies share the first axis, taxes the second.
const MODEL: &[(&str, [f32; DIM])] = &[
    ("[PAD]", [0.0; DIM]),
    ("[UNK]", [0.0; DIM]),
    ("[CLS]", [1.0; DIM]),
    ("[SEP]", [1.0; DIM]),
    ("dog", [1.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("puppy", [0.9, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("##s", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1]),
    ("tax", [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]),
    ("report", [0.0, 0.0, 0.0, 0.8, 0.2, 0.0, 0.0, 0.0]),
    ("accountant", [0.0, 0.0, 0.0, 0.7, 0.0, 0.3, 0.0, 0.0]),
];

/// Writes the model folder `<tmp>/tiny-model` (F16 weights, as most published models).
fn model_folder(tmp: &Path) -> PathBuf {
    let dir = tmp.join("tiny-model");
    std::fs::create_dir_all(&dir).unwrap();
    let vocab: serde_json::Map<String, Value> = MODEL
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (t.to_string(), json!(i)))
        .collect();
    let added: Vec<Value> = (0..4)
        .map(|i| json!({"id": i, "content": MODEL[i].0, "special": true}))
        .collect();
    let tokenizer = json!({
        "version": "1.0",
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null,
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"normalize": true, "apply_pca": 8}"#,
    )
    .unwrap();
    let halves: Vec<u8> = MODEL
        .iter()
        .flat_map(|(_, v)| *v)
        .flat_map(|x| f16(x).to_le_bytes())
        .collect();
    let view = TensorView::new(Dtype::F16, vec![MODEL.len(), DIM], &halves).unwrap();
    let bytes = safetensors::serialize([("embeddings", view)], None).unwrap();
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    dir
}

/// f32 → f16 for the normal values and zeros of [`MODEL`] (mantissa truncated).
fn f16(x: f32) -> u16 {
    if x == 0.0 {
        return 0;
    }
    let b = x.to_bits();
    let exp = ((b >> 23) & 0xff) as u16 + 15 - 127;
    (((b >> 16) & 0x8000) as u16) | (exp << 10) | ((b >> 13) & 0x3ff) as u16
}

async fn app(prefix: &str, dir: &Path, embedder: &str) -> Mem {
    let dir = dir.to_string_lossy().into_owned();
    let embedder = embedder.to_string();
    let app = spawn_app_with(move |c| {
        c.limits.ip_per_minute = 0;
        c.limits.user_per_minute = 0;
        c.memory.model_dir = Some(dir);
        c.memory.embedder = embedder;
    })
    .await;
    let user = app
        .user_in_new_workspace(&format!("{prefix}@example.com"), prefix)
        .await;
    Mem { app, user }
}

async fn notes(m: &Mem) {
    for n in [
        "Adopted a puppy named Rex last spring",
        "Quarterly tax report sent to the accountant",
    ] {
        m.call(
            Method::POST,
            "/agent/memory/notes",
            Some(json!({"content": n})),
        )
        .await
        .expect(201);
    }
}

async fn vector_hits(m: &Mem, q: &str) -> Vec<String> {
    let r = m
        .call(
            Method::GET,
            &format!("/agent/memory/search?q={q}&mode=vector"),
            None,
        )
        .await
        .expect(200);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"].as_str().unwrap().to_string())
        .collect()
}

async fn stored(m: &Mem, embedder: &str) -> usize {
    let store = m.app.store().await;
    let scan = VectorScan {
        user_id: &m.user.id,
        workspace_id: &m.user.ws,
        embedder,
        tiers: [false, false, true, false],
        not_before: None,
        exclude_session: None,
        limit: 100,
    };
    store.memory_vectors().scan(&scan).await.unwrap().len()
}

#[tokio::test]
async fn vector_search_finds_a_note_through_a_neighbouring_word_of_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let m = app("m2v-a", &model_folder(tmp.path()), "model2vec").await;
    notes(&m).await;
    indexed(&m.app.store().await).await;
    assert_eq!(stored(&m, "model2vec:tiny-model:8").await, 2);
    // "dogs" is in no note: the model puts it next to "puppy"; "tax" is orthogonal.
    let keyword = m
        .call(
            Method::GET,
            "/agent/memory/search?q=dogs&mode=keyword",
            None,
        )
        .await
        .expect(200);
    assert_eq!(keyword.body["items"], json!([]));
    assert_eq!(
        vector_hits(&m, "Dogs").await,
        ["Adopted a puppy named Rex last spring"]
    );
    assert_eq!(
        vector_hits(&m, "accountant").await,
        ["Quarterly tax report sent to the accountant"]
    );
    // A query of unknown words has the zero vector: no vector hit.
    assert!(vector_hits(&m, "zebra").await.is_empty());
}

#[tokio::test]
async fn a_workspace_opts_into_model2vec_and_is_re_embedded() {
    let tmp = tempfile::tempdir().unwrap();
    let m = app("m2v-b", &model_folder(tmp.path()), "hashing").await;
    notes(&m).await;
    indexed(&m.app.store().await).await;
    assert_eq!(stored(&m, "hashing-v1-512").await, 2);
    // Hashing knows no paraphrase.
    assert!(vector_hits(&m, "dogs").await.is_empty());
    let path = format!("/workspaces/{}/settings", m.user.ws);
    m.call(
        Method::PUT,
        &path,
        Some(json!({"settings": {"memoryEmbedder": "model2vec"}})),
    )
    .await
    .expect(200);
    indexed(&m.app.store().await).await;
    assert_eq!(stored(&m, "model2vec:tiny-model:8").await, 2);
    assert_eq!(
        vector_hits(&m, "dogs").await,
        ["Adopted a puppy named Rex last spring"]
    );
    let bad = m
        .call(
            Method::PUT,
            &path,
            Some(json!({"settings": {"memoryEmbedder": "word2vec"}})),
        )
        .await
        .expect(400);
    assert!(bad.text.contains("model2vec"), "{}", bad.text);
}

#[tokio::test]
async fn a_malformed_model_folder_stops_start_up_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = model_folder(tmp.path());
    let mut tok: Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).unwrap()).unwrap();
    tok["model"]["type"] = json!("BPE");
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    config.memory.model_dir = Some(dir.to_string_lossy().into_owned());
    config.memory.embedder = "model2vec".into();
    let text = crate::helpers::startup_error(config).await;
    assert!(
        text.contains("tiny-model/tokenizer.json") && text.contains("\"BPE\""),
        "{text}"
    );
}

#[tokio::test]
async fn vectors_of_a_former_default_embedder_are_requeued_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let m = app("m2v-c", &model_folder(tmp.path()), "hashing").await;
    notes(&m).await;
    let store = m.app.store().await;
    indexed(&store).await;
    // What a restart finds: with the same default nothing is stale; with model2vec the new
    // default, the workspace (hashing vectors, no setting) is re-queued.
    let same = Embedders::new(&m.app.config.memory, None);
    assert_eq!(requeue_stale(&store, &same).await.unwrap(), 0);
    let mut changed = m.app.config.memory.clone();
    changed.embedder = "model2vec".into();
    let changed = Embedders::new(&changed, None);
    assert_eq!(requeue_stale(&store, &changed).await.unwrap(), 1);
}
