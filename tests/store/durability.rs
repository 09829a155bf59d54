//! SQLite durability: the configured `PRAGMA synchronous` holds on every pooled connection
//! (sqlx opens connections lazily, so each one must get it, not only the first).

use astra::{
    config::{Config, SqliteSync},
    store::{Pool, Store},
};

use crate::helpers::TestDb;

#[tokio::test]
async fn every_sqlite_connection_uses_the_configured_synchronous_mode() {
    for mode in [
        SqliteSync::Off,
        SqliteSync::Normal,
        SqliteSync::Full,
        SqliteSync::Extra,
    ] {
        let db = TestDb::new().await;
        let config = Config {
            database_url: db.url.clone(),
            db_max_connections: 3,
            data_dir: db.data_dir.clone(),
            sqlite_synchronous: mode,
            ..Config::default()
        };
        let store = Store::connect(&astra::store::ConnectOptions::from(&config))
            .await
            .expect("connect");
        let Pool::Sqlite(pool) = store.pool() else {
            // PostgreSQL: the setting does not apply.
            return;
        };
        // Hold three connections at once, so three distinct connections answer.
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(pool.acquire().await.expect("acquire"));
        }
        for conn in &mut held {
            let got: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut **conn)
                .await
                .expect("pragma");
            assert_eq!(got, mode.pragma_value(), "{mode:?}");
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut **conn)
                .await
                .expect("pragma");
            assert_eq!(journal, "wal");
        }
        drop(held);
        store.close().await;
    }
}

#[test]
fn the_embedded_default_is_full() {
    assert_eq!(Config::default().sqlite_synchronous, SqliteSync::Full);
}
