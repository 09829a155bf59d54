//! A PostgreSQL outage of the app's own database: requests fail fast with 503
//! `DATABASE_UNAVAILABLE` (never 500, never past the acquire timeout), `/readiness` says the
//! database is down, and everything recovers by itself within 5 s of the database returning.
//!
//! The test makes unavailable only the database it created (`ALLOW_CONNECTIONS false` and
//! `pg_terminate_backend` of that database's sessions); the cluster is never touched. On SQLite
//! there is no server to take away: the mapping of SQLite's busy and pool errors is unit-tested
//! in `src/error.rs`.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::helpers::*;

/// How long a request may wait for a pooled connection in this test.
const ACQUIRE: Duration = Duration::from_secs(1);

/// Runs `sql` on the maintenance database of `ASTRA_TEST_DATABASE_URL`.
async fn admin(sql: String) {
    let url = std::env::var("ASTRA_TEST_DATABASE_URL").expect("admin url");
    let pool = sqlx::PgPool::connect(&url).await.expect("admin connect");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await
        .expect("admin statement");
    pool.close().await;
}

/// Takes the database away: no new connections, and every open one terminated.
async fn take_down(name: &str) {
    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    admin(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .await;
}

#[tokio::test]
async fn a_database_outage_answers_503_fast_and_recovers_by_itself() {
    if std::env::var("ASTRA_TEST_DATABASE_URL").is_err() {
        return; // PostgreSQL only: see the module docs.
    }
    let app = spawn_app_with(|c| c.db_acquire_timeout = ACQUIRE).await;
    let name = app
        .db
        .url
        .as_deref()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(_, n)| n.to_string())
        .expect("database name");
    let (token, _, _) = app.register(&unique_email("outage")).await;
    app.get("/workspaces", &token).await.expect(200);

    take_down(&name).await;
    // Every request during the outage: 503 DATABASE_UNAVAILABLE with Retry-After, each answered
    // within the acquire timeout plus slack for a loaded machine; none is a 500.
    for round in 0..3 {
        let started = Instant::now();
        let replies = futures_util::future::join_all((0..8).map(|_| async {
            let t = Instant::now();
            let r = app.get("/workspaces", &token).await;
            (r, t.elapsed())
        }))
        .await;
        for (r, took) in replies {
            assert!(
                took < ACQUIRE + Duration::from_secs(3),
                "round {round}: took {took:?}"
            );
            assert_eq!(
                r.header("retry-after"),
                Some("3"),
                "round {round}: {}",
                r.text
            );
            r.expect_error(503, "DATABASE_UNAVAILABLE");
        }
        assert!(started.elapsed() < ACQUIRE + Duration::from_secs(4));
    }
    let ready = app
        .send(Method::GET, "/readiness", None, &[])
        .await
        .expect(503);
    assert_eq!(ready.body["ready"], false);
    assert_eq!(ready.body["database"], "down");

    admin(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let back = Instant::now();
    loop {
        let r = app.get("/workspaces", &token).await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "only 503 while recovering: {}", r.text);
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "not recovered in 5 s: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = app
        .send(Method::GET, "/readiness", None, &[])
        .await
        .expect(200);
    assert_eq!(ready.body, serde_json::json!({"ready": true}));
    app.stop().await;
}
