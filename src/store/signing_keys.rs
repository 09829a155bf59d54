//! Per-user signing keys of `webhookUrl` chat replies (`webhook_signing_keys`, one row per user).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Store;
use crate::with_pool;

/// A user's reply-signing key.
#[derive(Debug, Clone, FromRow)]
pub struct SigningKeyRow {
    /// Owner.
    pub user_id: String,
    /// HMAC key (`whsec_…`).
    pub secret: String,
    /// When this key was made (a rotation makes a new one).
    pub created_at: DateTime<Utc>,
}

/// Per-user signing keys of `webhookUrl` chat replies.
#[derive(Clone, Copy)]
pub struct SigningKeys<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The signing keys aggregate.
    pub fn signing_keys(&self) -> SigningKeys<'_> {
        SigningKeys(self)
    }
}

impl SigningKeys<'_> {
    /// The user's key, if one was ever made.
    pub async fn signing_key(self, user_id: &str) -> Result<Option<SigningKeyRow>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT user_id, secret, created_at FROM webhook_signing_keys WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(p)
                .await
        })
    }

    /// Stores `secret` as the user's key unless one exists, and returns the key in force: two
    /// first deliveries racing agree on one key.
    pub async fn ensure_signing_key(
        self,
        user_id: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<SigningKeyRow, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO webhook_signing_keys (user_id, secret, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id).bind(secret).bind(now)
                .execute(p).await?;
            sqlx::query_as("SELECT user_id, secret, created_at FROM webhook_signing_keys WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(p)
                .await
        })
    }

    /// Replaces (or makes) the user's key.
    pub async fn replace_signing_key(
        self,
        user_id: &str,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<SigningKeyRow, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("INSERT INTO webhook_signing_keys (user_id, secret, created_at) VALUES ($1, $2, $3) \
                            ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at \
                            RETURNING user_id, secret, created_at")
                .bind(user_id).bind(secret).bind(now)
                .fetch_one(p)
                .await
        })
    }
}
