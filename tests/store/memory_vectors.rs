//! The vector index of memory (issue #18): the trigger queues every new chunk, the batcher
//! embeds the queue and empties it, a scan reads only its owner's vectors of one embedder, and
//! deleting a source deletes its vector.

use astra::{
    config::embeddings::EmbeddingsConfig,
    memory::{
        Owner as MemOwner, SearchOptions,
        embed::Embedders,
        hybrid::{self, Mode},
        indexer::Indexer,
    },
    store::{NewMemoryEntry, VectorScan},
};
use chrono::Utc;
use serde_json::{Map, Value};

use crate::helpers::{Owner, TestStore, owner};

async fn note(db: &TestStore, o: &Owner, content: &str) -> i64 {
    db.memory()
        .add_memory_entry(&NewMemoryEntry {
            user_id: &o.user_id,
            workspace_id: &o.workspace_id,
            tier: "note",
            content,
            source: "api",
            tags: &[],
            created_at: Utc::now(),
        })
        .await
        .unwrap()
        .idx
}

fn scan<'a>(o: &'a Owner, embedder: &'a str) -> VectorScan<'a> {
    VectorScan {
        user_id: &o.user_id,
        workspace_id: &o.workspace_id,
        embedder,
        tiers: [true; 4],
        not_before: None,
        exclude_session: None,
        limit: 100,
    }
}

fn mem(o: &Owner) -> MemOwner<'_> {
    MemOwner {
        user_id: &o.user_id,
        workspace_id: &o.workspace_id,
    }
}

#[tokio::test]
async fn the_batcher_embeds_queued_chunks_per_owner_and_deletes_follow_their_source() {
    let db = TestStore::new().await;
    let (ada, bob) = (owner(&db).await, owner(&db).await);
    note(&db, &ada, "I adopted a puppy called Rex").await;
    note(&db, &ada, "Finished the marmalade batch").await;
    note(&db, &bob, "Bob's marmalade is too sweet").await;
    let mut profile = Map::new();
    profile.insert("homeCity".into(), Value::String("Rotterdam".into()));
    db.memory()
        .put_user_profile(&ada.user_id, &ada.workspace_id, &profile, Utc::now())
        .await
        .unwrap();
    let (backlog, oldest) = db.memory_vectors().backlog().await.unwrap();
    assert_eq!(backlog, 4);
    assert!(oldest.is_some());

    let embedders = Embedders::new(&EmbeddingsConfig::default(), None);
    let indexer = Indexer::new(&db, embedders.clone());
    // Four chunks are less than a batch: one round, nothing more waiting.
    assert!(!indexer.tick().await.unwrap());
    assert_eq!(db.memory_vectors().backlog().await.unwrap(), (0, None));
    assert!(!indexer.tick().await.unwrap());

    let id = "hashing-v1-512";
    let rows = db.memory_vectors().scan(&scan(&ada, id)).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.dim == 512 && r.vec.len() == 512 * 4));
    assert_eq!(
        db.memory_vectors()
            .scan(&scan(&bob, id))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        db.memory_vectors()
            .scan(&scan(&ada, "other"))
            .await
            .unwrap()
            .is_empty()
    );

    // A typo finds Ada's note by vector only, and never Bob's.
    let hits = hybrid::search(
        &db,
        &embedders,
        mem(&ada),
        "marmelade",
        &SearchOptions::all(10),
        Mode::Hybrid,
    )
    .await
    .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].content, "Finished the marmalade batch");
    assert_eq!(hits[0].matched_by, ["vector"]);
    let keyword = hybrid::search(
        &db,
        &embedders,
        mem(&ada),
        "marmelade",
        &SearchOptions::all(10),
        Mode::Keyword,
    )
    .await
    .unwrap();
    assert!(keyword.is_empty());

    // Deleting the note deletes its vector; replacing the profile re-queues its chunk.
    assert!(
        db.memory()
            .delete_memory_entry(&ada.user_id, &ada.workspace_id, None, 1)
            .await
            .unwrap()
    );
    profile.insert("homeCity".into(), Value::String("Delft".into()));
    db.memory()
        .put_user_profile(&ada.user_id, &ada.workspace_id, &profile, Utc::now())
        .await
        .unwrap();
    assert_eq!(db.memory_vectors().backlog().await.unwrap().0, 1);
    assert_eq!(
        db.memory_vectors()
            .scan(&scan(&ada, id))
            .await
            .unwrap()
            .len(),
        1
    );
    indexer.tick().await.unwrap();
    let contents: Vec<String> = db
        .memory_vectors()
        .scan(&scan(&ada, id))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.content)
        .collect();
    assert_eq!(contents.len(), 2);
    assert!(contents.contains(&"homeCity: Delft".to_string()));

    // Changing the embedder re-queues the workspace's chunks.
    let n = db
        .memory_vectors()
        .requeue_workspace(&ada.workspace_id, Utc::now())
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(db.memory_vectors().backlog().await.unwrap().0, 2);
}

#[tokio::test]
async fn a_scan_reads_at_most_its_bound_newest_first() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    for i in 0..5 {
        note(&db, &o, &format!("note number {i}")).await;
    }
    let indexer = Indexer::new(&db, Embedders::new(&EmbeddingsConfig::default(), None));
    indexer.tick().await.unwrap();
    let mut s = scan(&o, "hashing-v1-512");
    s.limit = 2;
    let rows = db.memory_vectors().scan(&s).await.unwrap();
    let contents: Vec<&str> = rows.iter().map(|r| r.content.as_str()).collect();
    assert_eq!(contents, ["note number 4", "note number 3"]);
}
