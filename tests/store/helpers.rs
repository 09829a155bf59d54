//! A fresh database per test, opened as a [`Store`], and the few rows the tests build on.
//!
//! The per-test database is the integration suite's `TestDb` (`tests/api/helpers/db.rs`): a
//! SQLite temp file, or a PostgreSQL database made from `ASTRA_TEST_DATABASE_URL` and dropped
//! when the test ends.

use astra::{
    config::Config,
    store::{
        DeliveryRow, MessageRow, ReplyDeliveryRow, SessionRow, Store, UserRow, WebhookRow,
        WorkspaceRow, ids::new_id,
    },
};
use chrono::{DateTime, Utc};
use serde_json::json;

#[path = "../api/helpers/db.rs"]
mod db;
pub use db::TestDb;
use sqlx::types::Json;

/// A migrated store on a database of its own; the database goes with it.
pub struct TestStore {
    pub store: Store,
    // Dropped after the store's pool: drops the PostgreSQL database (or the SQLite temp dir).
    _db: TestDb,
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl TestStore {
    /// The connection settings of this database, for a second replica's store.
    pub fn config(&self) -> Config {
        Config {
            database_url: self._db.url.clone(),
            data_dir: self._db.data_dir.clone(),
            ..Config::default()
        }
    }

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
        // The same per-test database as the integration suite (one implementation for both).
        let db = TestDb::new().await;
        let config = Config {
            database_url: db.url.clone(),
            db_max_connections: max_connections,
            data_dir: db.data_dir.clone(),
            ..Config::default()
        };
        let store = Store::connect(&(&config).into()).await.expect("connect");
        store.migrate().await.expect("migrate");
        Self { store, _db: db }
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

/// A webhook of `o`'s workspace subscribed to every event; returns its id.
pub async fn webhook(store: &Store, o: &Owner) -> String {
    let now = Utc::now();
    let w = WebhookRow {
        id: new_id("wh"),
        user_id: o.user_id.clone(),
        workspace_id: Some(o.workspace_id.clone()),
        url: "https://example.com/hook".into(),
        events: Json(vec!["*".into()]),
        description: None,
        secret: "s".into(),
        previous_secret: None,
        secret_rotated_at: None,
        active: true,
        created_at: now,
        updated_at: now,
    };
    store.webhooks().insert_webhook(&w).await.unwrap();
    w.id
}

/// A pending delivery of `event` to `webhook_id`, due at `due`.
pub fn delivery(webhook_id: &str, event: &str, due: DateTime<Utc>) -> DeliveryRow {
    DeliveryRow {
        id: new_id("whd"),
        webhook_id: webhook_id.into(),
        event: event.into(),
        body: json!({"event": event}).to_string(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: due,
        response_status: None,
        error: None,
        created_at: due,
        delivered_at: None,
    }
}

/// A pending `webhookUrl` reply of a turn of `o` in `session_id`, queued at `at`.
pub fn reply_delivery(o: &Owner, session_id: &str, at: DateTime<Utc>) -> ReplyDeliveryRow {
    ReplyDeliveryRow {
        id: new_id("whd"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        session_id: session_id.into(),
        url: "https://example.com/reply".into(),
        event: "chat.completed".into(),
        body: "{}".into(),
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: at,
        response_status: None,
        error: None,
        created_at: at,
        delivered_at: None,
    }
}
