//! Idempotency keys of `/agent/chat`: claimed before the turn, completed with its response.

use chrono::{DateTime, Utc};

use super::Store;
use crate::with_pool;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new: run the request, then complete it.
    Fresh,
    /// A finished request with the same body: replay its response.
    Replay {
        /// HTTP status.
        status: u16,
        /// JSON body.
        body: String,
    },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// Idempotency keys of `/agent/chat`.
#[derive(Clone, Copy)]
pub struct Idempotency<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The idempotency aggregate.
    pub fn idempotency(&self) -> Idempotency<'_> {
        Idempotency(self)
    }
}

impl Idempotency<'_> {
    /// Claims `(user, key)` for a request with `hash`; keys older than `expired_before` are
    /// forgotten first.
    pub async fn claim_idempotency(
        self,
        user_id: &str,
        key: &str,
        hash: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> Result<IdempotencyClaim, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND created_at < $3")
                .bind(user_id).bind(key).bind(expired_before).execute(p).await?;
        });
        let insert = "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, created_at) \
                      VALUES ($1, $2, $3, 'running', $4) ON CONFLICT (user_id, idem_key) DO NOTHING";
        let inserted = with_pool!(&self.0.pool, p => {
            sqlx::query(insert).bind(user_id).bind(key).bind(hash).bind(now)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        if inserted == 1 {
            return Ok(IdempotencyClaim::Fresh);
        }
        let row: Option<(String, String, Option<i32>, Option<String>)> = with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT request_hash, state, response_status, response_body FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2")
                .bind(user_id).bind(key).fetch_optional(p).await
        })?;
        Ok(match row {
            // Expired and deleted by a concurrent claim between our statements: treat as new.
            None => IdempotencyClaim::Fresh,
            Some((stored, _, _, _)) if stored != hash => IdempotencyClaim::Mismatch,
            Some((_, state, Some(status), Some(body))) if state == "done" => {
                IdempotencyClaim::Replay {
                    status: u16::try_from(status).unwrap_or(500),
                    body,
                }
            }
            Some(_) => IdempotencyClaim::InProgress,
        })
    }

    /// Stores the response of a claimed key.
    pub async fn complete_idempotency(
        self,
        user_id: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4 WHERE user_id = $1 AND idem_key = $2")
                .bind(user_id).bind(key).bind(i32::from(status)).bind(body)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Releases a claim whose request produced no response to replay (e.g. the client left).
    pub async fn release_idempotency(self, user_id: &str, key: &str) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2 AND state = 'running'")
                .bind(user_id).bind(key).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
