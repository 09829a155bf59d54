//! The HTTP embedder end to end (issue #18) against the fake upstream's OpenAI-compatible
//! `POST /v1/embeddings`: the batcher sends its chunks in batches, a 500 is retried, an open
//! breaker stops the calls, and what each call is billed is recorded as usage (the embeddings
//! model, its tokens, the price-table cost; 0 for a model the table lacks).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use astra::config::embeddings::HttpEmbeddings;
use astra::memory::embed::{Embedders, usage::EMBEDDINGS_AGENT};
use astra::memory::indexer::Indexer;
use astra::providers::{InferenceConfig, Pricing, registry::ProviderRegistry};
use astra::store::{NewMemoryEntry, Store, UsageGroup, VectorScan};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::support::indexed;
use crate::helpers::{
    Answer, FAKE_EMBEDDING_DIM, FakeLlm, Reply, TestApp, chat_app_with, fake_embedding_tokens,
    spawn_app_with, use_fake,
};

const MODEL: &str = "text-embedding-3-small";

fn http(model: &str) -> Option<HttpEmbeddings> {
    Some(HttpEmbeddings {
        provider: "openai".into(),
        model: model.into(),
    })
}

/// The `input` arrays of the embeddings requests the fake received.
fn embedding_inputs(fake: &FakeLlm) -> Vec<Vec<String>> {
    fake.seen()
        .iter()
        .filter(|r| r.path == "/v1/embeddings")
        .map(|r| {
            let body = r.json();
            assert_eq!(body["model"], MODEL, "{body}");
            body["input"]
                .as_array()
                .expect("input is an array")
                .iter()
                .map(|i| i.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

/// Embedding usage of a workspace: the groups of [`EMBEDDINGS_AGENT`].
async fn embedding_usage(store: &Store, ws: &str) -> Vec<UsageGroup> {
    let now = Utc::now();
    let groups = store
        .costs()
        .workspace_usage_groups(ws, now - Duration::days(1), now + Duration::days(1))
        .await
        .unwrap();
    groups
        .into_iter()
        .filter(|g| g.agent_id == EMBEDDINGS_AGENT)
        .collect()
}

fn tokens_of(inputs: &[Vec<String>]) -> i64 {
    inputs
        .iter()
        .flatten()
        .map(|t| fake_embedding_tokens(t) as i64)
        .sum()
}

#[tokio::test]
async fn the_batcher_embeds_in_batches_through_the_http_embedder_and_records_usage_and_cost() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app_with(&fake, |c| {
        c.memory.embedder = "http".into();
        c.memory.http = http(MODEL);
        c.memory.batch_size = 4;
    })
    .await;
    let store = c.app.store().await;
    indexed(&store).await;
    let before = embedding_inputs(&fake).len();
    let (requests0, tokens0) = totals(&embedding_usage(&store, &c.ws).await);
    let notes: Vec<String> = (0..10)
        .map(|i| format!("note {i} about the kiln firing schedule"))
        .collect();
    for n in &notes {
        c.app
            .post("/agent/memory/notes", &c.token, json!({"content": n}))
            .await
            .expect(201);
    }
    indexed(&store).await;

    // Batches of at most `batchSize`, every note sent exactly once.
    let inputs = embedding_inputs(&fake);
    let batches = &inputs[before..];
    assert!(batches.len() >= 3, "{batches:?}");
    assert!(
        batches.iter().all(|b| (1..=4).contains(&b.len())),
        "{batches:?}"
    );
    for n in &notes {
        let times = batches.iter().flatten().filter(|i| *i == n).count();
        assert_eq!(times, 1, "{n}");
    }
    // Vectors carry the HTTP embedder's id and the model's dimension.
    let scan = VectorScan {
        user_id: &c.user.id,
        workspace_id: &c.ws,
        embedder: "http:openai:text-embedding-3-small",
        tiers: [true; 4],
        not_before: None,
        exclude_session: None,
        limit: 100,
    };
    let rows = store.memory_vectors().scan(&scan).await.unwrap();
    assert!(rows.len() >= notes.len());
    assert!(
        rows.iter()
            .all(|r| r.dim == FAKE_EMBEDDING_DIM as i32 && r.vec.len() == FAKE_EMBEDDING_DIM * 4)
    );

    // One usage row per call (one user), with the billed tokens and the priced cost.
    let usage = embedding_usage(&store, &c.ws).await;
    assert!(!usage.is_empty());
    for u in &usage {
        assert_eq!((u.provider.as_str(), u.model.as_str()), ("openai", MODEL));
        assert_eq!(u.totals.completion_tokens, 0);
        let expected = u.totals.prompt_tokens as f64 * 0.02 / 1e6;
        assert!((u.totals.cost_usd - expected).abs() < 1e-12, "{u:?}");
    }
    let (requests, tokens) = totals(&usage);
    assert_eq!(requests - requests0, batches.len() as i64);
    assert_eq!(tokens - tokens0, tokens_of(batches));
    assert_eq!(tokens - tokens0, 70, "ten notes of seven words");

    // A search embeds its query through the same endpoint, billed to the caller.
    let r = c
        .app
        .get_in(
            "/agent/memory/search?q=kiln%20firing&mode=vector",
            &c.token,
            &c.ws,
        )
        .await
        .expect(200);
    let items = r.body["items"].as_array().unwrap().clone();
    assert!(!items.is_empty(), "{}", r.body);
    assert!(items.iter().all(|i| i["matchedBy"] == json!(["vector"])));
    let after = embedding_inputs(&fake);
    assert_eq!(after.len(), inputs.len() + 1);
    assert_eq!(after.last(), Some(&vec!["kiln firing".to_string()]));
    let (r2, t2) = totals(&embedding_usage(&store, &c.ws).await);
    assert_eq!((r2 - requests, t2 - tokens), (1, 2));
}

/// The fake as `openai`, fast retries (one), the given breaker thresholds.
fn inference(fake: &FakeLlm, breaker: Value) -> InferenceConfig {
    let base = fake.base_url.clone();
    let env = move |k: &str| match k {
        "OPENAI_API_KEY" => Some("test-key".to_string()),
        "OPENAI_BASE_URL" => Some(base.clone()),
        _ => None,
    };
    let inference = json!({"retries": {"maxRetries": 1, "baseDelayMs": 5, "maxDelayMs": 20},
                           "timeoutMs": 5000, "circuitBreaker": breaker});
    InferenceConfig::from_sources(Some(&inference), &env).unwrap()
}

/// Requests and prompt tokens summed over usage groups.
fn totals(groups: &[UsageGroup]) -> (i64, i64) {
    groups.iter().fold((0, 0), |(r, t), g| {
        (r + g.totals.requests, t + g.totals.prompt_tokens)
    })
}

/// A stopped app's store with one user and workspace holding three queued notes (no worker
/// races the test's indexer), and the embedders of `model` at the fake.
struct Direct {
    _app: TestApp,
    store: Store,
    ws: String,
    embedders: Embedders,
}

async fn direct(fake: &FakeLlm, breaker: Value, model: &str) -> Direct {
    let mut app = spawn_app_with(|c| use_fake(c, fake)).await;
    let (token, user_id, _) = app.register("mem-embed-direct@example.com").await;
    let ws = app.workspace(&token, "Direct").await;
    let store = app.store().await;
    indexed(&store).await;
    app.signal_shutdown().await.unwrap().unwrap();
    for i in 0..3 {
        store
            .memory()
            .add_memory_entry(&NewMemoryEntry {
                user_id: &user_id,
                workspace_id: &ws,
                tier: "note",
                content: &format!("glaze test {i}"),
                source: "api",
                tags: &[],
                created_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    let registry = ProviderRegistry::new(inference(fake, breaker)).unwrap();
    let mut config = app.config.memory.clone();
    config.embedder = "http".into();
    config.http = http(model);
    let pricing = Arc::new(Pricing::new(None).unwrap());
    let embedders = Embedders::new(&config, Some((Arc::new(registry), pricing)));
    Direct {
        _app: app,
        store,
        ws,
        embedders,
    }
}

#[tokio::test]
async fn a_failed_embedding_call_is_retried_and_a_model_without_a_price_costs_nothing() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let fake = FakeLlm::start(move |req, _| -> Reply {
        if req.get("input").is_some() && seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Answer::error(500).into()
        } else {
            Answer::text("ok").into()
        }
    })
    .await;
    let d = direct(&fake, json!({}), "nomic-embed-text").await;
    let store = &d.store;
    let indexer = Indexer::new(store, d.embedders.clone());
    assert!(!indexer.tick().await.unwrap());
    assert_eq!(store.memory_vectors().backlog().await.unwrap().0, 0);
    // The 500 and its retry, with the same three inputs.
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let bodies: Vec<Value> = fake
        .seen()
        .iter()
        .filter(|r| r.path == "/v1/embeddings")
        .map(|r| r.json())
        .collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0]["input"], bodies[1]["input"]);
    assert_eq!(bodies[0]["input"].as_array().map(Vec::len), Some(3));
    // Only the call that succeeded is billed: 3 × "glaze test N" = 9 tokens, at no price.
    let groups = embedding_usage(store, &d.ws).await;
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].model, "nomic-embed-text");
    assert_eq!(groups[0].totals.requests, 1);
    assert_eq!(groups[0].totals.prompt_tokens, 9);
    assert_eq!(groups[0].totals.cost_usd, 0.0);
}

#[tokio::test]
async fn an_open_breaker_stops_the_embedding_calls_and_keeps_the_chunks_queued() {
    let fake = FakeLlm::always(Answer::error(500).into()).await;
    let breaker = json!({"failureThreshold": 2, "windowSeconds": 60, "openSeconds": 600});
    let d = direct(&fake, breaker, MODEL).await;
    let store = &d.store;
    let indexer = Indexer::new(store, d.embedders.clone());
    // The first round fails twice (a retry), which opens the breaker.
    assert!(indexer.tick().await.is_err());
    let hits = fake.hits();
    assert_eq!(hits, 2);
    // Further rounds fail at the open breaker without calling the provider.
    for _ in 0..3 {
        let e = indexer.tick().await.expect_err("the breaker is open");
        assert!(e.to_string().contains("circuit"), "{e}");
    }
    assert_eq!(fake.hits(), hits);
    assert_eq!(store.memory_vectors().backlog().await.unwrap().0, 3);
    assert!(embedding_usage(store, &d.ws).await.is_empty());
}

#[tokio::test]
async fn changing_a_workspaces_embedder_re_embeds_its_memory_in_the_background() {
    let up = Arc::new(AtomicBool::new(false));
    let flag = up.clone();
    let fake = FakeLlm::start(move |_, _| -> Reply {
        if flag.load(Ordering::SeqCst) {
            Answer::text("ok").into()
        } else {
            Answer::error(500).into()
        }
    })
    .await;
    let c = chat_app_with(&fake, |c| {
        c.memory.http = http(MODEL);
        c.inference = inference(&fake, json!({"failureThreshold": 1000}));
    })
    .await;
    let store = c.app.store().await;
    for n in ["kiln firing on friday", "glaze recipe with cobalt"] {
        c.app
            .post("/agent/memory/notes", &c.token, json!({"content": n}))
            .await
            .expect(201);
    }
    // The default embedder (hashing) indexes without the provider.
    indexed(&store).await;
    let scan = |embedder: &'static str| VectorScan {
        user_id: &c.user.id,
        workspace_id: &c.ws,
        embedder,
        tiers: [false, false, true, false],
        not_before: None,
        exclude_session: None,
        limit: 100,
    };
    let hashing = store
        .memory_vectors()
        .scan(&scan("hashing-v1-512"))
        .await
        .unwrap();
    assert_eq!(hashing.len(), 2);

    c.app
        .put(
            &format!("/workspaces/{}/settings", c.ws),
            &c.token,
            json!({"settings": {"memoryEmbedder": "http"}}),
        )
        .await
        .expect(200);
    // While the provider fails, the workspace's chunks wait on the queue: the progress.
    let health = c.app.key_get("/admin/health").await.expect(200);
    assert!(
        health.body["memoryIndex"]["backlog"].as_i64().unwrap() >= 2,
        "{}",
        health.text
    );
    up.store(true, Ordering::SeqCst);
    indexed(&store).await;
    let health = c.app.key_get("/admin/health").await.expect(200);
    assert_eq!(health.body["memoryIndex"]["backlog"], 0, "{}", health.text);
    let rows = store
        .memory_vectors()
        .scan(&scan("http:openai:text-embedding-3-small"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.dim == FAKE_EMBEDDING_DIM as i32));
    let r = c
        .app
        .get_in("/agent/memory/search?q=cobalt&mode=vector", &c.token, &c.ws)
        .await
        .expect(200);
    assert_eq!(
        r.body["items"][0]["content"], "glaze recipe with cobalt",
        "{}",
        r.body
    );
}
