//! Budget reservations: concurrent reservations of one user never admit more than the budget
//! allows (the counter row serialises them on both engines), an expired reservation stops
//! counting, and recording a turn settles its reservation.

use astra::store::{Reservation, ids::new_id};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;

use crate::helpers::{TestStore, owner};

fn reservation<'a>(
    id: &'a str,
    user: &'a str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Reservation<'a> {
    Reservation {
        id,
        user_id: user,
        month: "2026-12",
        admit: 1,
        hold: 10,
        budget: 100,
        now,
        expires_at: now + ttl,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reservations_never_pass_the_budget() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let now = Utc::now();
    let ids: Vec<String> = (0..30).map(|_| new_id("tres")).collect();
    let store = &db.store;
    let user = o.user_id.as_str();
    let granted = join_all(ids.iter().map(|id| async move {
        store
            .budgets()
            .reserve(&reservation(id, user, now, Duration::minutes(5)))
            .await
            .unwrap()
    }))
    .await;
    // Each holds 10 and is admitted while held + 1 ≤ 100: exactly ten fit.
    assert_eq!(granted.iter().filter(|g| **g).count(), 10);
    assert_eq!(
        db.budgets().committed(user, "2026-12", now).await.unwrap(),
        100
    );
}

#[tokio::test]
async fn expired_and_released_reservations_stop_counting() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let user = o.user_id.as_str();
    let t0 = Utc::now();
    let a = new_id("tres");
    let b = new_id("tres");
    assert!(
        db.budgets()
            .reserve(&reservation(&a, user, t0, Duration::seconds(30)))
            .await
            .unwrap()
    );
    assert!(
        db.budgets()
            .reserve(&reservation(&b, user, t0, Duration::hours(1)))
            .await
            .unwrap()
    );
    assert_eq!(
        db.budgets().committed(user, "2026-12", t0).await.unwrap(),
        20
    );
    // Past the first one's expiry (a crashed turn), only the second holds.
    let t1 = t0 + Duration::seconds(31);
    assert_eq!(
        db.budgets().committed(user, "2026-12", t1).await.unwrap(),
        10
    );
    db.budgets().release(&b).await.unwrap();
    assert_eq!(
        db.budgets().committed(user, "2026-12", t1).await.unwrap(),
        0
    );
    // A full budget refuses, and a refusal writes nothing.
    let big = Reservation {
        admit: 101,
        ..reservation(&a, user, t1, Duration::hours(1))
    };
    assert!(!db.budgets().reserve(&big).await.unwrap());
    assert_eq!(
        db.budgets().committed(user, "2026-12", t1).await.unwrap(),
        0
    );
}
