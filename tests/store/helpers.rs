//! A fresh database per test, opened as a [`Store`], and the few rows the tests build on.
//!
//! The per-test PostgreSQL database mirrors `tests/api/helpers.rs` (`TestDb`): created from
//! `ASTRA_TEST_DATABASE_URL`, dropped when the test ends.

use astra::{
    config::Config,
    store::{MessageRow, SessionRow, Store, UserRow, WorkspaceRow, ids::new_id},
};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

/// A migrated store on a database of its own; the database goes with it.
pub struct TestStore {
    pub store: Store,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// Opens and migrates a fresh database on the engine under test.
    pub async fn new() -> Self {
        Self::open(5).await
    }

    /// Like [`TestStore::new`], but on PostgreSQL the (single) connection's time zone is
    /// UTC+14 instead of the UTC sqlx sets, so SQL that buckets dates in the session's time
    /// zone instead of UTC shows.
    pub async fn far_from_utc() -> Self {
        let db = Self::open(1).await;
        if let astra::store::Pool::Postgres(p) = db.store.pool() {
            sqlx::query("SET TIME ZONE 'Pacific/Kiritimati'")
                .execute(p)
                .await
                .expect("set time zone");
        }
        db
    }

    async fn open(max_connections: u32) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, admin_url, name) = match std::env::var("ASTRA_TEST_DATABASE_URL") {
            Ok(admin_url) => {
                let name = format!("astra_s_{}", uuid::Uuid::now_v7().simple());
                let url = create_database(&admin_url, &name).await;
                (Some(url), Some(admin_url), Some(name))
            }
            Err(_) => (None, None, None),
        };
        let config = Config {
            database_url: url,
            db_max_connections: max_connections,
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let store = Store::connect(&config).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self {
            store,
            admin_url,
            name,
            _dir: dir,
        }
    }
}

async fn create_database(admin_url: &str, name: &str) -> String {
    let pool = sqlx::PgPool::connect(admin_url)
        .await
        .expect("ASTRA_TEST_DATABASE_URL must point at a reachable PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    format!("{base}/{name}")
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let (Some(admin), Some(name)) = (self.admin_url.clone(), self.name.clone()) else {
            return;
        };
        // The test's runtime is going away; drop the database from a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("rt");
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A point in time, from RFC 3339.
pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("timestamp")
        .with_timezone(&Utc)
}

/// A user with a workspace of their own.
pub struct Owner {
    pub user_id: String,
    pub workspace_id: String,
}

/// Inserts a user and a workspace they own.
pub async fn owner(store: &Store) -> Owner {
    let now = Utc::now();
    let user = UserRow {
        id: new_id("usr"),
        email: format!("{}@example.com", new_id("u")),
        password_hash: "x".into(),
        token_version: 0,
        created_at: now,
    };
    store.users().insert_user(&user).await.expect("user");
    let ws = WorkspaceRow {
        id: new_id("ws"),
        name: "Conformance".into(),
        owner_id: user.id.clone(),
        plan: "free".into(),
        settings: Json(json!({})),
        allowed_providers: None,
        allowed_models: None,
        created_at: now,
        updated_at: now,
    };
    store
        .workspaces()
        .create_workspace(&ws)
        .await
        .expect("workspace");
    Owner {
        user_id: user.id,
        workspace_id: ws.id,
    }
}

/// Opens an active session of the owner with `agent_id`.
pub async fn session(store: &Store, o: &Owner, agent_id: &str) -> String {
    let now = Utc::now();
    let s = SessionRow {
        id: new_id("ses"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        agent_id: agent_id.into(),
        surface: "chat".into(),
        surface_id: new_id("sf"),
        status: "active".into(),
        summary: None,
        summary_until: None,
        message_count: 0,
        created_at: now,
        last_active_at: now,
        archived_at: None,
    };
    store.sessions().insert_session(&s).await.expect("session");
    s.id
}

/// A message of `role` with `content`, written at `created_at`.
pub fn message(
    session_id: &str,
    role: &str,
    content: &str,
    created_at: DateTime<Utc>,
) -> MessageRow {
    MessageRow {
        id: new_id("msg"),
        session_id: session_id.into(),
        role: role.into(),
        content: content.into(),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at,
    }
}

/// Appends user messages with these contents to a session; returns their ids in order.
pub async fn say(store: &Store, session_id: &str, contents: &[&str]) -> Vec<String> {
    let now = Utc::now();
    let rows: Vec<MessageRow> = contents
        .iter()
        .map(|c| message(session_id, "user", c, now))
        .collect();
    store
        .sessions()
        .append_messages(session_id, &rows, now)
        .await
        .expect("append");
    rows.into_iter().map(|m| m.id).collect()
}
