//! Memory test support: an app without request-rate limits, a user with a workspace, calls
//! in that workspace, and direct writes of daily entries at chosen times.

use astra::store::{MemoryEntryRow, NewMemoryEntry, Store};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{Resp, TestApp, spawn_app_with};

/// A user with a workspace on a fresh app.
pub struct Mem {
    pub app: TestApp,
    pub token: String,
    pub user_id: String,
    pub ws: String,
}

/// Boots an app (rate limits off, so a test may make many calls) with one user.
pub async fn mem_app(prefix: &str) -> Mem {
    let app = spawn_app_with(|c| {
        c.limits.ip_per_minute = 0;
        c.limits.user_per_minute = 0;
    })
    .await;
    let (token, user_id, _) = app.register(&format!("{prefix}@example.com")).await;
    let ws = app.workspace(&token, prefix).await;
    Mem {
        app,
        token,
        user_id,
        ws,
    }
}

/// A request as `token` in workspace `ws`.
pub async fn call_as(
    app: &TestApp,
    token: &str,
    ws: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let auth = format!("Bearer {token}");
    app.send(
        method,
        path,
        body,
        &[("authorization", &auth), ("x-workspace-id", ws)],
    )
    .await
}

impl Mem {
    /// A request as the user in their workspace.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        call_as(&self.app, &self.token, &self.ws, method, path, body).await
    }

    /// A store on the app's database.
    pub async fn store(&self) -> Store {
        Store::connect(&self.app.config).await.unwrap()
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

/// `YYYY-MM-DD` of a moment.
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}
