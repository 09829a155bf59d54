//! What replicas sharing one database coordinate through it (issue #13): the shared JWT
//! secret (first writer wins), maintenance under an advisory lock, and cache invalidations
//! sent with `NOTIFY` after a commit and applied by the other replica's `LISTEN` task.

use std::time::{Duration, Instant};

use astra::store::{MemberWrite, Store};
use chrono::Utc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::helpers::{TestStore, owner};

/// A second replica's store on the same database.
async fn second_replica(db: &TestStore) -> Store {
    Store::connect(&(&db.config()).into())
        .await
        .expect("connect")
}

#[tokio::test]
async fn the_first_replica_stores_the_shared_secret_and_the_others_read_it() {
    let s = TestStore::new().await;
    let first = s
        .cluster_secret("jwt", "first-replica-secret")
        .await
        .unwrap();
    assert_eq!(first, "first-replica-secret");
    let other = second_replica(&s).await;
    let second = other
        .cluster_secret("jwt", "second-replica-secret")
        .await
        .unwrap();
    assert_eq!(second, "first-replica-secret");
}

#[tokio::test]
async fn maintenance_runs_on_one_replica_at_a_time() {
    let s = TestStore::new().await;
    let other = second_replica(&s).await;
    let held = s.try_exclusive("retention").await.unwrap();
    assert!(held.is_some());
    let second = other.try_exclusive("retention").await.unwrap();
    if s.engine() == "postgres" {
        assert!(second.is_none(), "another replica holds the lock");
        // Another task's lock is independent.
        let decay = other.try_exclusive("decay").await.unwrap();
        assert!(decay.is_some());
        if let Some(d) = decay {
            d.release().await;
        }
    } else {
        // One process on SQLite: always granted.
        assert!(second.is_some());
    }
    if let Some(h) = held {
        h.release().await;
    }
    let again = other.try_exclusive("retention").await.unwrap();
    assert!(again.is_some(), "released with the first holder's pass");
}

#[tokio::test]
async fn memory_decay_runs_on_one_replica_at_a_time() {
    let s = TestStore::new().await;
    let other = second_replica(&s).await;
    let held = s.try_exclusive("memory-decay").await.unwrap();
    let skipped = astra::memory::decay::exclusive_run(&other, Utc::now())
        .await
        .unwrap();
    if s.engine() == "postgres" {
        assert!(skipped.is_none(), "the other replica is running it");
    } else {
        assert!(skipped.is_some(), "SQLite: one process, always runs");
    }
    if let Some(h) = held {
        h.release().await;
    }
    let ran = astra::memory::decay::exclusive_run(&other, Utc::now())
        .await
        .unwrap();
    assert!(ran.is_some(), "runs once the holder released the lock");
}

#[tokio::test]
async fn a_removed_member_leaves_the_other_replicas_cache_at_once() {
    let a = TestStore::new().await;
    if a.engine() != "postgres" {
        assert!(a.enable_cluster_notices().is_none(), "SQLite: one process");
        return;
    }
    let b = second_replica(&a).await;
    let o = owner(&a).await;
    let member = owner(&a).await;
    let ws = o.workspace_id.clone();
    let add = a
        .workspaces()
        .change_membership(&ws, &o.user_id, &member.user_id, Utc::now(), |_| {
            Ok::<_, ()>(MemberWrite::SetRole("member"))
        })
        .await
        .unwrap();
    assert!(add.is_ok());
    // Replica A sends, replica B listens.
    let (tasks, stop) = (TaskTracker::new(), CancellationToken::new());
    let outbox = a.enable_cluster_notices().expect("postgres");
    let (sender, stop_a) = (a.store.clone(), stop.clone());
    tasks.spawn(async move { sender.run_notifier("a".into(), outbox, stop_a).await });
    let (listener, stop_b) = (b.clone(), stop.clone());
    tasks.spawn(async move { listener.run_listener("b".into(), |_| {}, stop_b).await });
    // B caches the role (and the LISTEN is up: a notice from A arrives).
    let cached = b
        .workspaces()
        .member_role_cached(&ws, &member.user_id)
        .await
        .unwrap();
    assert_eq!(cached.as_deref(), Some("member"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let removed = a
        .workspaces()
        .change_membership(&ws, &o.user_id, &member.user_id, Utc::now(), |_| {
            Ok::<_, ()>(MemberWrite::Remove)
        })
        .await
        .unwrap();
    assert!(removed.is_ok());
    // Without the notice B would answer from its cache for 5 s.
    let start = Instant::now();
    loop {
        let role = b
            .workspaces()
            .member_role_cached(&ws, &member.user_id)
            .await
            .unwrap();
        if role.is_none() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "replica B still sees the removed member"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    tasks.close();
    tasks.wait().await;
    b.close().await;
}
