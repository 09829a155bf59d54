//! Webhook endpoints and their delivery outbox (`webhook_deliveries`), claimed by the worker.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, Pool, Store};
use crate::with_pool;

/// A registered webhook endpoint.
#[derive(Debug, Clone, FromRow)]
pub struct WebhookRow {
    /// `wh_…`
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Workspace it is limited to; `None` = every workspace of the owner.
    pub workspace_id: Option<String>,
    /// Where deliveries are POSTed.
    pub url: String,
    /// Subscribed event names (`*` = all).
    pub events: Json<Vec<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Signing secret (`whsec_…`).
    pub secret: String,
    /// The secret the last rotation replaced (still signs during the overlap window).
    pub previous_secret: Option<String>,
    /// When the secret was last rotated.
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Inactive endpoints receive no new events.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One event queued for (or delivered to) one endpoint.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    /// `whd_…`
    pub id: String,
    /// Endpoint.
    pub webhook_id: String,
    /// Event name.
    pub event: String,
    /// The exact JSON body sent (and signed) on every attempt.
    pub body: String,
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
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one delivery attempt ended with.
#[derive(Debug, Clone)]
pub struct DeliveryOutcome {
    /// `pending` (retry at `next_attempt_at`), `delivered` or `failed`.
    pub status: &'static str,
    /// HTTP status, when a response came.
    pub response_status: Option<i64>,
    /// Problem, when not delivered.
    pub error: Option<String>,
    /// Next attempt (retries only).
    pub next_attempt_at: DateTime<Utc>,
    /// Success time.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The insert of one outbox row, shared by [`Webhooks::enqueue_deliveries`] and the
/// transactions that write an event together with the state change causing it.
pub(in crate::store) const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, attempts, \
     next_attempt_at, response_status, error, created_at, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// Inserts outbox rows (`&[DeliveryRow]`) on `$tx`, an open write transaction of either
/// engine inside [`with_pool!`]: the transactional outbox — an event is durable exactly when
/// the state change written in the same transaction is. Returns early with the error.
macro_rules! insert_deliveries {
    ($tx:expr, $rows:expr) => {
        for d in $rows {
            sqlx::query($crate::store::webhooks::INSERT_DELIVERY)
                .bind(&d.id)
                .bind(&d.webhook_id)
                .bind(&d.event)
                .bind(&d.body)
                .bind(&d.status)
                .bind(d.attempts)
                .bind(d.next_attempt_at)
                .bind(d.response_status)
                .bind(&d.error)
                .bind(d.created_at)
                .bind(d.delivered_at)
                .execute(&mut *$tx)
                .await?;
        }
    };
}
pub(in crate::store) use insert_deliveries;

/// The claim of due rows of an outbox table (`webhook_deliveries`, `reply_deliveries`): the
/// attempt is counted and the row leased (`$2`) at claim time; `$1` is now, `$3` the batch.
/// Rows whose sender died mid-send come back once their lease ran out.
pub(in crate::store) fn claim_sql(pool: &Pool, table: &str, columns: &str) -> String {
    let lock = match pool {
        Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Pool::Sqlite(_) => "",
    };
    format!(
        "UPDATE {table} SET status = 'sending', attempts = attempts + 1, locked_until = $2 \
         WHERE id IN (SELECT id FROM {table} \
           WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND locked_until < $1) \
           ORDER BY next_attempt_at LIMIT $3{lock}) \
         RETURNING {columns}"
    )
}

/// Stores the outcome of attempt number `attempt` of a row of an outbox table and gives its
/// lease back; ignored when the claim was lost (another sender re-claimed the row).
pub(in crate::store) async fn finish_in(
    store: &Store,
    table: &str,
    id: &str,
    attempt: i64,
    o: &DeliveryOutcome,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE {table} SET status = $3, response_status = $4, error = $5, next_attempt_at = $6, \
         delivered_at = $7, locked_until = NULL WHERE id = $1 AND attempts = $2 AND status = 'sending'"
    );
    with_pool!(&store.pool, p => {
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(id).bind(attempt).bind(o.status).bind(o.response_status).bind(&o.error)
            .bind(o.next_attempt_at).bind(o.delivered_at)
            .execute(p).await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

const HOOK_COLUMNS: &str = "id, user_id, workspace_id, url, events, description, secret, active, \
     created_at, updated_at, previous_secret, secret_rotated_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, body, status, attempts, next_attempt_at, response_status, error, created_at, delivered_at";

/// Webhook endpoints and their delivery outbox.
#[derive(Clone, Copy)]
pub struct Webhooks<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The webhooks aggregate.
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks(self)
    }
}

impl Webhooks<'_> {
    /// Inserts a webhook.
    pub async fn insert_webhook(self, w: &WebhookRow) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&w.id).bind(&w.user_id).bind(&w.workspace_id).bind(&w.url).bind(&w.events)
                .bind(&w.description).bind(&w.secret).bind(w.active).bind(w.created_at).bind(w.updated_at)
                .bind(&w.previous_secret).bind(w.secret_rotated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The user's webhooks (only those of `workspace_id` when given), newest first; plus the total.
    pub async fn webhooks_of(
        self,
        user_id: &str,
        workspace_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<WebhookRow>, i64), sqlx::Error> {
        let filter = "user_id = $1 AND ($2 IS NULL OR workspace_id = $2)";
        let sql = format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count = format!("SELECT COUNT(*) FROM webhooks WHERE {filter}");
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                .bind(user_id).bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// A webhook of the user.
    pub async fn webhook(self, user_id: &str, id: &str) -> Result<Option<WebhookRow>, sqlx::Error> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = $1 AND user_id = $2");
        with_pool!(&self.0.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(user_id).fetch_optional(p).await)
    }

    /// A webhook by id alone (for the delivery worker).
    pub async fn webhook_by_id(self, id: &str) -> Result<Option<WebhookRow>, sqlx::Error> {
        let sql = format!("SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = $1");
        with_pool!(&self.0.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)
    }

    /// Saves url, events, description and active; false when there is no such webhook.
    pub async fn update_webhook(self, w: &WebhookRow) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE webhooks SET url = $3, events = $4, description = $5, active = $6, updated_at = $7 WHERE id = $1 AND user_id = $2")
                .bind(&w.id).bind(&w.user_id).bind(&w.url).bind(&w.events).bind(&w.description)
                .bind(w.active).bind(w.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Makes `secret` the webhook's secret, keeping the replaced one as `previous_secret`;
    /// false when the user has no such webhook.
    pub async fn rotate_secret(
        self,
        user_id: &str,
        id: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE webhooks SET previous_secret = secret, secret = $3, secret_rotated_at = $4, \
                         updated_at = $4 WHERE id = $1 AND user_id = $2")
                .bind(id).bind(user_id).bind(secret).bind(now)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Deletes a webhook of the user with its deliveries; false when there was none.
    pub async fn delete_webhook(self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM webhooks WHERE id = $1 AND user_id = $2")
                .bind(id).bind(user_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// Active webhooks of the user that see events of `workspace_id` (workspace-wide ones and
    /// those without a workspace).
    pub async fn webhooks_for_event(
        self,
        user_id: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<WebhookRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {HOOK_COLUMNS} FROM webhooks WHERE user_id = $1 AND active = $3 \
             AND (workspace_id IS NULL OR workspace_id = $2)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(workspace_id).bind(true).fetch_all(p).await
        })
    }

    /// Queues deliveries in one transaction.
    pub async fn enqueue_deliveries(self, rows: &[DeliveryRow]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            insert_deliveries!(tx, rows);
            tx.commit().await
        })
    }

    /// Deliveries of one webhook, newest first; plus the total.
    pub async fn deliveries_of(
        self,
        webhook_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<DeliveryRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(webhook_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = $1")
                .bind(webhook_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Claims up to `limit` due deliveries (and ones whose sender's lease ran out), counting
    /// the attempt; each stays claimed until `lease_until`.
    pub async fn claim_deliveries(
        self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, sqlx::Error> {
        let sql = claim_sql(&self.0.pool, "webhook_deliveries", DELIVERY_COLUMNS);
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now).bind(lease_until).bind(limit).fetch_all(p).await
        })
    }

    /// Stores the outcome of attempt number `attempt`; ignored when the claim was lost.
    pub async fn finish_delivery(
        self,
        id: &str,
        attempt: i64,
        o: &DeliveryOutcome,
    ) -> Result<(), sqlx::Error> {
        finish_in(self.0, "webhook_deliveries", id, attempt, o).await
    }
}
