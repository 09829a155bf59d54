//! The outbox of `webhookUrl` chat replies (`reply_deliveries`): one row per reply, written as
//! a `running` placeholder with the turn's user message and filled in the transaction that
//! records the turn (both through the group commit, `store::turn_batch`), claimed and finished
//! by the webhook delivery worker with the same lease and outcome SQL as `webhook_deliveries`.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{
    DeliveryOutcome, Store,
    webhooks::{claim_sql, finish_in},
};
use crate::with_pool;

/// One reply queued for (or delivered to) the `webhookUrl` of the turn that made it.
#[derive(Debug, Clone, FromRow)]
pub struct ReplyDeliveryRow {
    /// `whd_…`: made when the turn was planned (answered in the 202), the `webhook-id` of
    /// every attempt.
    pub id: String,
    /// Owner: the caller of the turn; the reply is signed with this user's key.
    pub user_id: String,
    /// Workspace of the turn.
    pub workspace_id: String,
    /// Session of the turn.
    pub session_id: String,
    /// Where the reply is POSTed.
    pub url: String,
    /// Event name (`chat.completed`).
    pub event: String,
    /// The exact JSON body sent (and signed) on every attempt.
    pub body: String,
    /// `running` (the turn has not been recorded yet; never claimed), then
    /// `pending|sending|delivered|failed`.
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// HTTP status of the last attempt.
    pub response_status: Option<i64>,
    /// Problem of the last attempt.
    pub error: Option<String>,
    /// Queued at (when the turn was accepted).
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, workspace_id, session_id, url, event, body, status, attempts, \
     next_attempt_at, response_status, error, created_at, delivered_at";

/// The outbox of `webhookUrl` replies.
#[derive(Clone, Copy)]
pub struct ReplyDeliveries<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The reply deliveries aggregate.
    pub fn reply_deliveries(&self) -> ReplyDeliveries<'_> {
        ReplyDeliveries(self)
    }
}

impl ReplyDeliveries<'_> {
    /// The user's reply deliveries, newest first; plus the total.
    pub async fn of_user(
        self,
        user_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ReplyDeliveryRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reply_deliveries WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM reply_deliveries WHERE user_id = $1")
                .bind(user_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// One reply delivery of the user.
    pub async fn get(
        self,
        user_id: &str,
        id: &str,
    ) -> Result<Option<ReplyDeliveryRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM reply_deliveries WHERE id = $1 AND user_id = $2");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(user_id).fetch_optional(p).await
        })
    }

    /// Claims up to `limit` due replies (and ones whose sender's lease ran out), counting the
    /// attempt; each stays claimed until `lease_until`.
    pub async fn claim(
        self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ReplyDeliveryRow>, sqlx::Error> {
        let sql = claim_sql(&self.0.pool, "reply_deliveries", COLUMNS);
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now).bind(lease_until).bind(limit).fetch_all(p).await
        })
    }

    /// Makes due the placeholders whose turn was never recorded and can no longer be (their
    /// deadline, `next_attempt_at`, passed: the process running the turn died): they are sent
    /// as they are, with the error body they were written with. Answers how many.
    pub async fn release_interrupted(self, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let done = sqlx::query(
                "UPDATE reply_deliveries SET status = 'pending' WHERE status = 'running' AND next_attempt_at <= $1",
            )
            .bind(now)
            .execute(p)
            .await?;
            Ok(done.rows_affected())
        })
    }

    /// Stores the outcome of attempt number `attempt`; ignored when the claim was lost.
    pub async fn finish(
        self,
        id: &str,
        attempt: i64,
        o: &DeliveryOutcome,
    ) -> Result<(), sqlx::Error> {
        finish_in(self.0, "reply_deliveries", id, attempt, o).await
    }
}
