//! Gateway-wide reads for the admin routes: every workspace's agents, audit entries, and
//! session counts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{AgentRow, Store};
use crate::with_pool;

/// One audit-log entry.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    /// `aud_…`
    pub id: String,
    /// The acting user.
    pub user_id: String,
    /// Workspace, when the action was inside one.
    pub workspace_id: Option<String>,
    /// Dotted action name (`auth.login`, `session.handoff`, …).
    pub action: String,
    /// What was acted on.
    pub target: Option<String>,
    /// Free-form details.
    pub details: Json<Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Gateway-wide reads for the admin routes.
#[derive(Clone, Copy)]
pub struct Admin<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The admin aggregate.
    pub fn admin(&self) -> Admin<'_> {
        Admin(self)
    }
}

impl Admin<'_> {
    /// A page of every workspace's agents (by workspace, then id), and the total.
    pub async fn all_workspace_agents(
        self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AgentRow>, i64), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as("SELECT workspace_id, id, config, version, created_by, created_at, updated_at \
                                       FROM agents ORDER BY workspace_id, id LIMIT $1 OFFSET $2")
                .bind(limit).bind(offset).fetch_all(p).await?;
            let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM agents").fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// The newest `limit` audit entries of a user, newest first.
    pub async fn audit_entries(
        self,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditRow>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT id, user_id, workspace_id, action, target, details, created_at FROM audit_log \
                            WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
                .bind(user_id).bind(limit).fetch_all(p).await
        })
    }

    /// Sessions currently active across the gateway.
    pub async fn active_session_count(self) -> Result<i64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE status = 'active'").fetch_one(p).await
        })
    }
}
