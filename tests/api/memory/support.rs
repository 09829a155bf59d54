//! Memory test support: an app without request-rate limits with one user, and direct writes
//! of daily entries at chosen times.

use astra::store::{MemoryEntryRow, NewMemoryEntry, Store};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Resp, TestApp, User, spawn_app_with};

/// A user with a workspace on a fresh app.
pub struct Mem {
    pub app: TestApp,
    pub user: User,
}

/// Boots an app (rate limits off, so a test may make many calls) with one user whose e-mail
/// and workspace name are `prefix`.
pub async fn mem_app(prefix: &str) -> Mem {
    let app = spawn_app_with(|c| {
        c.limits.ip_per_minute = 0;
        c.limits.user_per_minute = 0;
    })
    .await;
    let email = format!("{prefix}@example.com");
    let user = app.user_in_new_workspace(&email, prefix).await;
    Mem { app, user }
}

impl Mem {
    /// A request as the user in their workspace.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.app.call(&self.user, method, path, body).await
    }
}

/// Writes a daily entry for `user_id` in `ws` as if at `at`.
pub async fn daily_at(
    store: &Store,
    user_id: &str,
    ws: &str,
    content: &str,
    at: DateTime<Utc>,
) -> MemoryEntryRow {
    store
        .memory()
        .add_memory_entry(&NewMemoryEntry {
            user_id,
            workspace_id: ws,
            tier: "daily",
            content,
            source: "api",
            tags: &[],
            created_at: at,
        })
        .await
        .unwrap()
}

/// Waits until the batcher has embedded every queued chunk.
pub async fn indexed(store: &Store) {
    for _ in 0..400 {
        let (backlog, _) = store.memory_vectors().backlog().await.unwrap();
        if backlog == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the embedding batcher did not drain its queue");
}

/// `YYYY-MM-DD` of a moment.
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}
