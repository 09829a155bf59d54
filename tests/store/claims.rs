//! Queue claims: one `UPDATE … WHERE id IN (SELECT … LIMIT n [FOR UPDATE SKIP LOCKED])
//! RETURNING …` that also takes a lease. Concurrent claimers never share a row, a lease that
//! ran out makes the row claimable again, and only the current claim may store an outcome.

use std::collections::HashSet;

use astra::store::{DeliveryOutcome, DeliveryRow, JobFinish, JobRow, Store, ids::new_id};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde_json::json;
use sqlx::types::Json;

use crate::helpers::{Owner, TestStore, at, delivery, owner, webhook};

const ROWS: usize = 24;
const CLAIMERS: usize = 4;

fn job(o: &Owner, run_at: DateTime<Utc>) -> JobRow {
    JobRow {
        id: new_id("job"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        job_type: "noop".into(),
        payload: Json(json!({})),
        status: "pending".into(),
        max_retries: 0,
        timeout_seconds: 30,
        attempts: 0,
        run_at,
        result: None,
        error: None,
        created_at: run_at,
        started_at: None,
        finished_at: None,
    }
}

/// One sweep as the worker does it: lists up to `limit` abandoned jobs and fails each that is
/// still abandoned (error `gone`); answers those this sweep failed, as stored.
async fn fail_abandoned(store: &Store, now: DateTime<Utc>, limit: i64) -> Vec<JobRow> {
    let mut failed = Vec::new();
    for j in store.jobs().abandoned_jobs(now, limit).await.unwrap() {
        if store
            .jobs()
            .fail_abandoned_job(&j, now, "gone", &[])
            .await
            .unwrap()
        {
            failed.push(
                store
                    .jobs()
                    .job(&j.workspace_id, &j.id)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
    }
    failed
}

/// Claims in a loop, `limit` at a time, until a claim comes back empty.
async fn drain<T, F, Fut>(claim: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    let mut got = Vec::new();
    loop {
        let batch = claim().await.expect("claim");
        if batch.is_empty() {
            return got;
        }
        got.extend(batch);
    }
}

/// Every id exactly once across all claimers.
fn assert_disjoint_cover(batches: Vec<Vec<String>>, all: &[String]) {
    let claimed: Vec<String> = batches.into_iter().flatten().collect();
    let unique: HashSet<&String> = claimed.iter().collect();
    assert_eq!(unique.len(), claimed.len(), "a row was claimed twice");
    assert_eq!(
        unique,
        all.iter().collect::<HashSet<_>>(),
        "a row was never claimed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_job_claims_never_share_a_row() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..ROWS {
        let j = job(&o, now - Duration::seconds(i as i64));
        db.jobs().insert_job(&j).await.unwrap();
        ids.push(j.id);
    }
    let lease = now + Duration::minutes(5);
    let store: &Store = &db;
    let batches = join_all((0..CLAIMERS).map(|_| async move {
        drain(|| store.jobs().claim_jobs(now, lease, 3))
            .await
            .into_iter()
            .map(|j| {
                assert_eq!((j.status.as_str(), j.attempts), ("running", 1));
                j.id
            })
            .collect::<Vec<_>>()
    }))
    .await;
    assert_disjoint_cover(batches, &ids);
}

#[tokio::test]
async fn an_expired_job_lease_is_reclaimed_and_the_old_claim_loses() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let t0 = at("2024-05-01T12:00:00Z");
    let j = JobRow {
        max_retries: 1,
        ..job(&o, t0)
    };
    db.jobs().insert_job(&j).await.unwrap();
    // Not due yet.
    assert!(
        db.jobs()
            .claim_jobs(t0 - Duration::seconds(1), t0, 5)
            .await
            .unwrap()
            .is_empty()
    );

    let first = db
        .jobs()
        .claim_jobs(t0, t0 + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // Leased: nobody else gets it, however often they ask.
    let t1 = t0 + Duration::seconds(29);
    assert!(
        db.jobs()
            .claim_jobs(t1, t1 + Duration::seconds(30), 5)
            .await
            .unwrap()
            .is_empty()
    );
    // A shortened lease (its timeout) is what counts.
    db.jobs()
        .set_job_lease(&j.id, 1, t0 + Duration::seconds(10))
        .await
        .unwrap();
    let t2 = t0 + Duration::seconds(11);
    let second = db
        .jobs()
        .claim_jobs(t2, t2 + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);

    let done = JobFinish {
        status: "completed",
        result: Some(json!({"ok": true})),
        error: None,
        run_at: t2,
        finished_at: Some(t2),
    };
    assert!(
        !db.jobs().finish_job(&j.id, 1, &done, &[]).await.unwrap(),
        "the first claim is lost"
    );
    assert!(db.jobs().finish_job(&j.id, 2, &done, &[]).await.unwrap());
    let stored = db
        .jobs()
        .job(&o.workspace_id, &j.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "completed");
    let later = t2 + Duration::hours(1);
    assert!(
        db.jobs()
            .claim_jobs(later, later, 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_job_whose_last_attempt_lapsed_fails_instead_of_being_claimed() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let t0 = at("2024-05-01T12:00:00Z");
    let j = JobRow {
        max_retries: 1,
        ..job(&o, t0)
    };
    db.jobs().insert_job(&j).await.unwrap();
    let lease = Duration::seconds(30);
    // Two attempts (1 + maxRetries) are claimed and abandoned.
    for (n, t) in [(1, t0), (2, t0 + Duration::seconds(31))] {
        let got = db.jobs().claim_jobs(t, t + lease, 5).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].attempts, n);
        // While the lease holds, nothing is failed.
        assert!(
            fail_abandoned(&db, t + Duration::seconds(29), 5)
                .await
                .is_empty()
        );
    }
    let t2 = t0 + Duration::seconds(62);
    // The last attempt's lease ran out: no third claim, the job fails once.
    assert!(
        db.jobs()
            .claim_jobs(t2, t2 + lease, 5)
            .await
            .unwrap()
            .is_empty()
    );
    let failed = fail_abandoned(&db, t2, 5).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].status.as_str(),
            failed[0].attempts,
            failed[0].error.as_deref()
        ),
        ("failed", 2, Some("gone"))
    );
    assert!(fail_abandoned(&db, t2, 5).await.is_empty());
    // The abandoned attempt cannot store a late outcome over the failure.
    let done = JobFinish {
        status: "completed",
        result: Some(json!({"ok": true})),
        error: None,
        run_at: t2,
        finished_at: Some(t2),
    };
    assert!(!db.jobs().finish_job(&j.id, 2, &done, &[]).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sweeps_fail_an_abandoned_job_once() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for i in 0..ROWS {
        let j = job(&o, now - Duration::seconds(i as i64));
        db.jobs().insert_job(&j).await.unwrap();
        ids.push(j.id);
    }
    // Every job (maxRetries 0) claimed once with a lease that already ran out.
    let claimed = drain(|| db.jobs().claim_jobs(now, now, 5)).await;
    assert_eq!(claimed.len(), ROWS);
    let later = now + Duration::seconds(1);
    let store: &Store = &db;
    let batches = join_all((0..CLAIMERS).map(|_| async move {
        drain(|| async move { Ok(fail_abandoned(store, later, 3).await) })
            .await
            .into_iter()
            .map(|j| j.id)
            .collect::<Vec<_>>()
    }))
    .await;
    assert_disjoint_cover(batches, &ids);
}

#[tokio::test]
async fn a_released_job_is_pending_again_without_the_attempt() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let t0 = at("2024-05-01T12:00:00Z");
    let j = job(&o, t0);
    db.jobs().insert_job(&j).await.unwrap();
    db.jobs()
        .claim_jobs(t0, t0 + Duration::minutes(1), 1)
        .await
        .unwrap();
    db.jobs().release_job(&j.id, 1).await.unwrap();
    let again = db
        .jobs()
        .claim_jobs(t0, t0 + Duration::minutes(1), 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_delivery_claims_never_share_a_row() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let now = Utc::now();
    let rows: Vec<DeliveryRow> = (0..ROWS)
        .map(|_| delivery(&hook, "chat.completed", now))
        .collect();
    db.webhooks().enqueue_deliveries(&rows).await.unwrap();
    let ids: Vec<String> = rows.iter().map(|d| d.id.clone()).collect();
    let lease = now + Duration::minutes(5);
    let store: &Store = &db;
    let batches = join_all((0..CLAIMERS).map(|_| async move {
        drain(|| store.webhooks().claim_deliveries(now, lease, 2))
            .await
            .into_iter()
            .map(|d| d.id)
            .collect::<Vec<_>>()
    }))
    .await;
    assert_disjoint_cover(batches, &ids);
}

#[tokio::test]
async fn an_expired_delivery_lease_is_reclaimed_and_the_old_claim_is_ignored() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let t0 = at("2024-05-01T12:00:00Z");
    let d = delivery(&hook, "chat.completed", t0);
    db.webhooks()
        .enqueue_deliveries(std::slice::from_ref(&d))
        .await
        .unwrap();

    assert_eq!(
        db.webhooks()
            .claim_deliveries(t0, t0 + Duration::seconds(30), 5)
            .await
            .unwrap()
            .len(),
        1
    );
    let t1 = t0 + Duration::seconds(29);
    assert!(
        db.webhooks()
            .claim_deliveries(t1, t1, 5)
            .await
            .unwrap()
            .is_empty()
    );
    let t2 = t0 + Duration::seconds(31);
    let second = db
        .webhooks()
        .claim_deliveries(t2, t2 + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);

    let outcome = |status: &'static str| DeliveryOutcome {
        status,
        response_status: Some(200),
        error: None,
        next_attempt_at: t2,
        delivered_at: Some(t2),
    };
    // The lost first claim cannot overwrite what the current one stores.
    db.webhooks()
        .finish_delivery(&d.id, 2, &outcome("delivered"))
        .await
        .unwrap();
    db.webhooks()
        .finish_delivery(&d.id, 1, &outcome("failed"))
        .await
        .unwrap();
    let (stored, _) = db.webhooks().deliveries_of(&hook, 10, 0).await.unwrap();
    assert_eq!(stored[0].status, "delivered");
    assert_eq!(stored[0].attempts, 2);
}
