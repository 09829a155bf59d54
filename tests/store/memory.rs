//! Memory search over `memory_chunks`: triggers on the source tables (profile, daily entries
//! and notes, session messages) keep the chunks in step, and the search (FTS5 `porter` +
//! `bm25` on SQLite, an `english` `tsvector` + `ts_rank_cd` on PostgreSQL) finds the same.

use astra::store::{ChunkSearch, NewMemoryEntry};
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

use crate::helpers::{Owner, TestStore, message, owner, session};

/// Tiers: `[profile, daily, note, session]`.
const ALL: [bool; 4] = [true; 4];

/// The tier and content of each hit, best first.
async fn find(
    db: &TestStore,
    o: &Owner,
    terms: &[&str],
    tiers: [bool; 4],
) -> Vec<(String, String)> {
    find_with(db, o, terms, tiers, None).await
}

async fn find_with(
    db: &TestStore,
    o: &Owner,
    terms: &[&str],
    tiers: [bool; 4],
    exclude_session: Option<&str>,
) -> Vec<(String, String)> {
    let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
    let search = ChunkSearch {
        user_id: &o.user_id,
        workspace_id: &o.workspace_id,
        terms: &terms,
        tiers,
        not_before: None,
        exclude_session,
        limit: 10,
    };
    db.memory()
        .search_memory_chunks(&search)
        .await
        .expect("memory search")
        .into_iter()
        .map(|h| (h.tier, h.content))
        .collect()
}

fn entry<'a>(o: &'a Owner, tier: &'a str, content: &'a str) -> NewMemoryEntry<'a> {
    NewMemoryEntry {
        user_id: &o.user_id,
        workspace_id: &o.workspace_id,
        tier,
        content,
        source: "api",
        tags: &[],
        created_at: Utc::now(),
    }
}

fn profile(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("object")
}

#[tokio::test]
async fn entries_are_found_until_deleted() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let note = db
        .memory()
        .add_memory_entry(&entry(&o, "note", "Allergic to peanuts"))
        .await
        .unwrap();
    let daily = db
        .memory()
        .add_memory_entry(&entry(&o, "daily", "Booked a flight to Oslo"))
        .await
        .unwrap();
    assert_eq!(
        find(&db, &o, &["peanuts"], ALL).await,
        vec![("note".to_string(), "Allergic to peanuts".to_string())]
    );
    assert_eq!(find(&db, &o, &["oslo"], ALL).await.len(), 1);
    // Tier filters apply.
    assert!(
        find(&db, &o, &["oslo"], [true, false, true, true])
            .await
            .is_empty()
    );

    assert!(
        db.memory()
            .delete_memory_entry(&o.user_id, &o.workspace_id, None, note.idx)
            .await
            .unwrap()
    );
    assert!(
        db.memory()
            .delete_memory_entry(&o.user_id, &o.workspace_id, Some(&daily.day), daily.idx)
            .await
            .unwrap()
    );
    assert!(find(&db, &o, &["peanuts"], ALL).await.is_empty());
    assert!(find(&db, &o, &["oslo"], ALL).await.is_empty());
}

#[tokio::test]
async fn profile_keys_follow_every_write() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let now = Utc::now();
    let (user, ws) = (o.user_id.as_str(), o.workspace_id.as_str());
    db.memory()
        .put_user_profile(
            user,
            ws,
            &profile(json!({"city": "Lisbon", "pet": null})),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        find(&db, &o, &["lisbon"], ALL).await,
        vec![("profile".to_string(), "city: Lisbon".to_string())]
    );
    // An update replaces the key's chunk.
    db.memory()
        .put_user_profile(user, ws, &profile(json!({"city": "Porto"})), now)
        .await
        .unwrap();
    assert!(find(&db, &o, &["lisbon"], ALL).await.is_empty());
    assert_eq!(find(&db, &o, &["porto"], ALL).await.len(), 1);
    // So does an edit under the row lock.
    let edited = db
        .memory()
        .edit_user_profile(user, ws, now, |mut p| {
            p.insert("team".into(), json!("Benfica"));
            p.remove("city");
            Ok(p)
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(edited.len(), 1);
    assert!(find(&db, &o, &["porto"], ALL).await.is_empty());
    assert_eq!(
        find(&db, &o, &["benfica"], ALL).await,
        vec![("profile".to_string(), "team: Benfica".to_string())]
    );
}

#[tokio::test]
async fn session_messages_are_memory_until_deleted() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let now = Utc::now();
    let rows = [
        message(&s, "user", "my telescope arrived", now),
        message(&s, "tool", "telescope catalogue lookup", now),
        message(&s, "assistant", "enjoy the telescope", now),
    ];
    db.sessions().append_messages(&s, &rows, now).await.unwrap();
    // User and assistant text only; tool output is not memory.
    let hits = find(&db, &o, &["telescope"], ALL).await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits.iter().all(|(tier, _)| tier == "session"));
    assert!(
        find_with(&db, &o, &["telescope"], ALL, Some(&s))
            .await
            .is_empty()
    );

    astra::with_pool!(db.pool(), p => {
        sqlx::query("DELETE FROM messages WHERE id = $1").bind(&rows[0].id).execute(p).await.unwrap();
    });
    assert_eq!(
        find(&db, &o, &["telescope"], ALL).await,
        vec![("session".to_string(), "enjoy the telescope".to_string())]
    );
}

#[tokio::test]
async fn ranking_stemming_and_scope() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let other = owner(&db).await;
    for content in [
        "Went hiking once",
        "Hiking, hiking, hiking every weekend",
        "Likes chess",
    ] {
        db.memory()
            .add_memory_entry(&entry(&o, "note", content))
            .await
            .unwrap();
    }
    db.memory()
        .add_memory_entry(&entry(&other, "note", "hiking too"))
        .await
        .unwrap();
    // Stemmed on both engines: "hikes" finds "hiking". More occurrences rank first.
    let hits = find(&db, &o, &["hikes"], ALL).await;
    let contents: Vec<&str> = hits.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        contents,
        ["Hiking, hiking, hiking every weekend", "Went hiking once"]
    );
    // Terms are OR-ed.
    assert_eq!(find(&db, &o, &["chess", "hike"], ALL).await.len(), 3);
    // Another user's memory is never found.
    assert_eq!(find(&db, &other, &["hiking"], ALL).await.len(), 1);
}

#[tokio::test]
async fn old_daily_entries_are_left_out() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let old = Utc::now() - Duration::days(10);
    let mut e = entry(&o, "daily", "ancient history lesson");
    e.created_at = old;
    db.memory().add_memory_entry(&e).await.unwrap();
    db.memory()
        .add_memory_entry(&entry(&o, "note", "history of notes"))
        .await
        .unwrap();
    let terms = vec!["history".to_string()];
    let search = ChunkSearch {
        user_id: &o.user_id,
        workspace_id: &o.workspace_id,
        terms: &terms,
        tiers: ALL,
        not_before: Some(Utc::now() - Duration::days(1)),
        exclude_session: None,
        limit: 10,
    };
    let hits = db.memory().search_memory_chunks(&search).await.unwrap();
    // Notes do not expire by age; the old daily entry does.
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].tier, "note");
}
