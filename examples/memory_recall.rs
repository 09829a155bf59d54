//! Retrieval quality and latency of memory search (issue #18): loads the labelled set of
//! `bench/data/memory_recall.json` into a fresh user's memory, lets the embedding batcher index
//! it, and reports recall@5 and MRR (first relevant hit within the top 10) for `keyword`,
//! `vector` and `hybrid`, overall and per query kind. With `--latency N[,M…]` it then measures
//! the hashing embedder's throughput, grows the user's memory to N (then M…) chunks — notes
//! written straight through the store 1 000 per transaction and embedded by the batcher — and
//! times 100 searches per mode (`--queries N`) at each size (wall clock, this machine, with its
//! load average). Without the labelled set it runs on synthetic notes, latency only.
//!
//! ```sh
//! cargo run --release --example memory_recall                      # SQLite temp file
//! cargo run --release --example memory_recall -- --db postgres://postgres@127.0.0.1:5432/bench
//! cargo run --release --example memory_recall -- --latency 10000,100000
//! ```
//! The embedder is the configured one (`astra.yml` `memory:`, `ASTRA_MEMORY_EMBEDDER`), the
//! hashing embedder by default; with `ASTRA_EMBEDDINGS_MODEL_DIR` the model2vec model of that
//! folder (whose throughput `--latency` prints too).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use astra::{
    config::Config,
    memory::{
        Owner, SearchOptions,
        embed::{Embedder, Embedders, HashingEmbedder, model2vec},
        hybrid::{self, Mode},
        indexer::Indexer,
    },
    providers::{Pricing, registry::ProviderRegistry},
    store::{ConnectOptions, NewMemoryEntry, Store, UserRow, WorkspaceRow, ids::new_id},
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sqlx::types::Json;

#[derive(Deserialize)]
struct Set {
    items: Vec<Item>,
    queries: Vec<Query>,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    tier: String,
    content: String,
}

#[derive(Deserialize)]
struct Query {
    query: String,
    kind: String,
    relevant: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct Score {
    recall5: f64,
    rr: f64,
    n: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let data = arg("--data").unwrap_or_else(|| "bench/data/memory_recall.json".into());
    // Latency needs no labels: without the labelled set it runs on a synthetic one.
    let (set, labelled) = match std::fs::read_to_string(&data) {
        Ok(text) => (serde_json::from_str::<Set>(&text)?, true),
        Err(e) if arg("--latency").is_some() => {
            eprintln!("{data}: {e}; latency only, on synthetic notes");
            (synthetic_set(), false)
        }
        Err(e) => return Err(anyhow::anyhow!("{data}: {e}")),
    };
    let config = Config::load()?;
    let tmp = std::env::temp_dir().join(format!("astra-memory-recall-{}", std::process::id()));
    let options = ConnectOptions {
        url: arg("--db"),
        sqlite_path: tmp.join("astra.db"),
        max_connections: 4,
        acquire_timeout: std::time::Duration::from_secs(30),
        sqlite_synchronous: sqlx::sqlite::SqliteSynchronous::Normal,
        turn_batch: astra::store::DEFAULT_TURN_BATCH,
    };
    let store = Store::connect(&options).await?;
    store.migrate().await?;
    let providers = Arc::new(ProviderRegistry::new(config.inference.clone())?);
    let pricing = Arc::new(Pricing::new(
        Some(&config.file.pricing).filter(|v| !v.is_null()),
    )?);
    Embedders::preload(&config.memory)?;
    let embedders = Embedders::new(&config.memory, Some((providers, pricing)));
    let (user_id, workspace_id) = owner(&store).await?;
    let owner = Owner {
        user_id: &user_id,
        workspace_id: &workspace_id,
    };

    let mut profile = Map::new();
    let mut by_content: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in &set.items {
        by_content
            .entry(item.content.clone())
            .or_default()
            .push(item.id.clone());
        if item.tier == "profile" {
            let (k, v) = item.content.split_once(": ").unwrap_or((&item.content, ""));
            profile.insert(k.to_string(), Value::String(v.to_string()));
        } else {
            add(&store, owner, &item.tier, &item.content).await?;
        }
    }
    store
        .memory()
        .put_user_profile(&user_id, &workspace_id, &profile, Utc::now())
        .await?;
    let started = Instant::now();
    let chunks = index(&store, &embedders).await?;
    println!(
        "{} items, {} queries; {} chunks embedded in {:.2}s by {}; engine {}",
        set.items.len(),
        set.queries.len(),
        chunks,
        started.elapsed().as_secs_f64(),
        embedders.for_settings(&json!({})).id(),
        store.engine()
    );

    if labelled {
        quality(&store, &embedders, owner, &set, &by_content).await?;
    }
    if let Some(levels) = arg("--latency") {
        let levels: Vec<usize> = levels
            .split(',')
            .map(|l| l.trim().parse())
            .collect::<Result<_, _>>()?;
        let per_mode = arg("--queries").map_or(Ok(100), |q| q.parse())?;
        latency(&store, &embedders, owner, &set, &levels, per_mode).await?;
    }
    if options.url.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// Recall@5 and MRR@10 per mode, overall and per query kind, as a Markdown table.
async fn quality(
    store: &Store,
    embedders: &Embedders,
    owner: Owner<'_>,
    set: &Set,
    by_content: &BTreeMap<String, Vec<String>>,
) -> anyhow::Result<()> {
    println!(
        "\n| mode | recall@5 | MRR@10 | {} |",
        kinds(set).join(" | ")
    );
    println!(
        "|---|---|---|{}|",
        kinds(set)
            .iter()
            .map(|_| "---")
            .collect::<Vec<_>>()
            .join("|")
    );
    for (name, mode) in [
        ("keyword", Mode::Keyword),
        ("vector", Mode::Vector),
        ("hybrid", Mode::Hybrid),
    ] {
        let mut total = Score::default();
        let mut per_kind: BTreeMap<String, Score> = BTreeMap::new();
        for q in &set.queries {
            let hits = hybrid::search(
                store,
                embedders,
                owner,
                &q.query,
                &SearchOptions::all(10),
                mode,
            )
            .await?;
            let ids: Vec<String> = hits
                .iter()
                .map(|h| {
                    by_content
                        .get(&h.content)
                        .and_then(|v| v.first())
                        .cloned()
                        .unwrap_or_default()
                })
                .collect();
            let found5 = q
                .relevant
                .iter()
                .filter(|r| ids.iter().take(5).any(|i| i == *r))
                .count();
            let first = ids.iter().position(|i| q.relevant.contains(i));
            let s = Score {
                recall5: found5 as f64 / q.relevant.len() as f64,
                rr: first.map(|p| 1.0 / (p as f64 + 1.0)).unwrap_or(0.0),
                n: 1,
            };
            for acc in [&mut total, per_kind.entry(q.kind.clone()).or_default()] {
                acc.recall5 += s.recall5;
                acc.rr += s.rr;
                acc.n += 1;
            }
        }
        let cells: Vec<String> = kinds(set)
            .iter()
            .map(|k| {
                let s = per_kind.get(k).copied().unwrap_or_default();
                format!(
                    "{:.2} / {:.2}",
                    s.recall5 / s.n.max(1) as f64,
                    s.rr / s.n.max(1) as f64
                )
            })
            .collect();
        println!(
            "| {name} | {:.3} | {:.3} | {} |",
            total.recall5 / total.n as f64,
            total.rr / total.n as f64,
            cells.join(" | ")
        );
    }
    println!("(per kind: recall@5 / MRR)");

    Ok(())
}

/// Notes and queries made from one paragraph, for latency runs without the labelled set.
fn synthetic_set() -> Set {
    const TEXT: &str = "the kiln reached cone six on friday and the glaze ran thin on the north shelf \
        sourdough starter needs feeding twice a day while the flat stays cold in winter \
        quarterly taxes go to the accountant before the fifteenth with every receipt scanned \
        the allotment plot by the canal grows leeks beans and a stubborn row of parsnips \
        marathon training means long runs on sunday and intervals on the track each tuesday \
        the cargo bike needs new brake pads and the child seat rattles over cobbles";
    let words: Vec<&str> = TEXT.split_whitespace().collect();
    let items = (0..words.len())
        .map(|i| Item {
            id: format!("s{i}"),
            tier: "note".into(),
            content: (0..10)
                .map(|j| words[(i + j * 7) % words.len()])
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let queries = (0..50)
        .map(|i| Query {
            query: format!(
                "{} {}",
                words[(i * 5) % words.len()],
                words[(i * 11 + 3) % words.len()]
            ),
            kind: "synthetic".into(),
            relevant: Vec::new(),
        })
        .collect();
    Set { items, queries }
}

fn kinds(set: &Set) -> Vec<String> {
    let mut k: Vec<String> = set.queries.iter().map(|q| q.kind.clone()).collect();
    k.sort();
    k.dedup();
    k
}

async fn owner(store: &Store) -> anyhow::Result<(String, String)> {
    let now = Utc::now();
    let user = UserRow {
        id: new_id("usr"),
        email: format!("{}@bench.example", new_id("u")),
        password_hash: "x".into(),
        token_version: 0,
        created_at: now,
    };
    store.users().insert_user(&user).await?;
    let ws = WorkspaceRow {
        id: new_id("ws"),
        name: "Recall bench".into(),
        owner_id: user.id.clone(),
        plan: "free".into(),
        settings: Json(json!({})),
        allowed_providers: None,
        allowed_models: None,
        created_at: now,
        updated_at: now,
    };
    store.workspaces().create_workspace(&ws).await?;
    Ok((user.id, ws.id))
}

async fn add(store: &Store, owner: Owner<'_>, tier: &str, content: &str) -> anyhow::Result<()> {
    store
        .memory()
        .add_memory_entry(&NewMemoryEntry {
            user_id: owner.user_id,
            workspace_id: owner.workspace_id,
            tier,
            content,
            source: "api",
            tags: &[],
            created_at: Utc::now(),
        })
        .await?;
    Ok(())
}

/// Runs the batcher until the queue is empty; returns the chunks embedded.
async fn index(store: &Store, embedders: &Embedders) -> anyhow::Result<i64> {
    let (before, _) = store.memory_vectors().backlog().await?;
    let indexer = Indexer::new(store, embedders.clone());
    while indexer.tick().await? {}
    let (after, _) = store.memory_vectors().backlog().await?;
    Ok(before - after)
}

async fn latency(
    store: &Store,
    embedders: &Embedders,
    owner: Owner<'_>,
    set: &Set,
    levels: &[usize],
    per_mode: usize,
) -> anyhow::Result<()> {
    let words: Vec<&str> = set
        .items
        .iter()
        .flat_map(|i| i.content.split_whitespace())
        .collect();
    let text = |i: usize| -> String {
        (0..12)
            .map(|j| words[(i * 7919 + j * 104_729) % words.len()])
            .collect::<Vec<_>>()
            .join(" ")
    };
    let hashing = HashingEmbedder::new(embedders.config().hashing_dim);
    let texts: Vec<String> = (0..20_000).map(text).collect();
    let started = Instant::now();
    for t in &texts {
        std::hint::black_box(hashing.vector(t));
    }
    println!(
        "\nhashing embedder ({} dims): {:.0} texts/s (12-word texts, one thread)",
        embedders.config().hashing_dim,
        texts.len() as f64 / started.elapsed().as_secs_f64()
    );
    if let Some(dir) = &embedders.config().model_dir {
        let model = model2vec::shared(std::path::Path::new(dir))?;
        let started = Instant::now();
        for t in &texts {
            std::hint::black_box(model.vector(t));
        }
        println!(
            "model2vec embedder {} ({} dims): {:.0} texts/s (12-word texts, one thread)",
            model.id(),
            model.dim(),
            texts.len() as f64 / started.elapsed().as_secs_f64()
        );
    }
    // Seeding: notes written 1 000 per transaction, embedded 1 024 per batcher round.
    let mut bulk = embedders.config().clone();
    bulk.batch_size = 1024;
    let seeder = Embedders::new(&bulk, None);
    let mut have = set.items.len();
    println!(
        "\n| chunks | engine | scan bound | hybrid p50 | hybrid p95 | keyword p50 | vector p50 | load avg |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &level in levels {
        let started = Instant::now();
        while have < level {
            let n = (level - have).min(1000);
            let contents: Vec<String> = (have..have + n).map(text).collect();
            let entries: Vec<NewMemoryEntry<'_>> = contents
                .iter()
                .map(|c| NewMemoryEntry {
                    user_id: owner.user_id,
                    workspace_id: owner.workspace_id,
                    tier: "note",
                    content: c,
                    source: "api",
                    tags: &[],
                    created_at: Utc::now(),
                })
                .collect();
            store.memory().add_memory_entries(&entries).await?;
            have += n;
        }
        let written = started.elapsed();
        let started = Instant::now();
        let embedded = index(store, &seeder).await?;
        eprintln!(
            "seeded to {level} chunks: written in {:.1}s, {embedded} embedded in {:.1}s",
            written.as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        let mut row = Vec::new();
        for mode in [Mode::Hybrid, Mode::Keyword, Mode::Vector] {
            let mut times = Vec::new();
            for q in set.queries.iter().cycle().take(per_mode) {
                let started = Instant::now();
                hybrid::search(
                    store,
                    embedders,
                    owner,
                    &q.query,
                    &SearchOptions::all(10),
                    mode,
                )
                .await?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
            row.push((pct(0.5), pct(0.95)));
        }
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "| {level} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            store.engine(),
            embedders.config().max_scan,
            row[0].0,
            row[0].1,
            row[1].0,
            row[2].0,
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}
