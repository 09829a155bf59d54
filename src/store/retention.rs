//! Retention deletes: rows past their keep period, removed in bounded batches so one pass
//! never holds a long write lock (SQLite) or a huge transaction (PostgreSQL).

use chrono::{DateTime, Utc};

use super::{Pool, Store};

/// A table the retention task prunes, with the rule that makes a row old.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetainedTable {
    /// `idempotency_keys` by `created_at`.
    IdempotencyKeys,
    /// `refresh_tokens` by `expires_at` (spent and revoked tokens included: a row goes only
    /// once the token could not be used anyway, so reuse detection keeps working).
    RefreshTokens,
    /// `heartbeat_runs` by `started_at`.
    HeartbeatRuns,
    /// `webhook_deliveries` that are finished (`delivered` or `failed`) by `created_at`;
    /// pending ones are never touched.
    WebhookDeliveries,
    /// `reply_deliveries` (`webhookUrl` replies) that are finished, by `created_at`, under the
    /// webhook deliveries' keep period; pending ones are never touched.
    ReplyDeliveries,
    /// `login_failures` by `failed_at`.
    LoginFailures,
    /// `audit_log` by `created_at`.
    AuditLog,
}

impl RetainedTable {
    /// Every pruned table.
    pub const ALL: [RetainedTable; 7] = [
        Self::IdempotencyKeys,
        Self::RefreshTokens,
        Self::HeartbeatRuns,
        Self::WebhookDeliveries,
        Self::ReplyDeliveries,
        Self::LoginFailures,
        Self::AuditLog,
    ];

    /// The table's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::IdempotencyKeys => "idempotency_keys",
            Self::RefreshTokens => "refresh_tokens",
            Self::HeartbeatRuns => "heartbeat_runs",
            Self::WebhookDeliveries => "webhook_deliveries",
            Self::ReplyDeliveries => "reply_deliveries",
            Self::LoginFailures => "login_failures",
            Self::AuditLog => "audit_log",
        }
    }

    /// The condition selecting old rows; `$1` is the cutoff.
    fn condition(self) -> &'static str {
        match self {
            Self::IdempotencyKeys => "created_at < $1",
            Self::RefreshTokens => "expires_at < $1",
            Self::HeartbeatRuns => "started_at < $1",
            Self::WebhookDeliveries | Self::ReplyDeliveries => {
                "status IN ('delivered', 'failed') AND created_at < $1"
            }
            Self::LoginFailures => "failed_at < $1",
            Self::AuditLog => "created_at < $1",
        }
    }
}

/// Retention deletes in bounded batches.
#[derive(Clone, Copy)]
pub struct Retention<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The retention aggregate.
    pub fn retention(&self) -> Retention<'_> {
        Retention(self)
    }
}

impl Retention<'_> {
    /// Deletes at most `limit` rows of `table` older than `cutoff`; returns how many went.
    pub async fn delete_expired_batch(
        self,
        table: RetainedTable,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, sqlx::Error> {
        let (name, cond) = (table.name(), table.condition());
        // Only the row id differs: SQLite's `rowid`, PostgreSQL's `ctid` (neither table set
        // has a single-column key on every table). Names and conditions are constants.
        let result = match &self.0.pool {
            Pool::Sqlite(p) => {
                let sql = format!(
                    "DELETE FROM {name} WHERE rowid IN (SELECT rowid FROM {name} WHERE {cond} LIMIT $2)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(cutoff)
                    .bind(limit)
                    .execute(p)
                    .await?
                    .rows_affected()
            }
            Pool::Postgres(p) => {
                let sql = format!(
                    "DELETE FROM {name} WHERE ctid IN (SELECT ctid FROM {name} WHERE {cond} LIMIT $2)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(cutoff)
                    .bind(limit)
                    .execute(p)
                    .await?
                    .rows_affected()
            }
        };
        Ok(result)
    }
}
