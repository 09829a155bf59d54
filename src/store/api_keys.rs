//! API keys (`api_keys`): one row per live key, found by the SHA-256 of the key.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Store;
use crate::with_pool;

const COLUMNS: &str = "id, user_id, workspace_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at";

/// A stored API key (its hash, never the key).
#[derive(Debug, Clone, FromRow)]
pub struct ApiKeyRow {
    /// `key_…`
    pub id: String,
    /// The user the key acts as.
    pub user_id: String,
    /// The one workspace the key may act in; `None` = any of the user's.
    pub workspace_id: Option<String>,
    /// Display name.
    pub name: String,
    /// First characters of the key, to tell keys apart.
    pub prefix: String,
    /// Lowercase hex SHA-256 of the key.
    pub key_hash: String,
    /// Comma-separated scopes.
    pub scopes: String,
    /// When the key was made.
    pub created_at: DateTime<Utc>,
    /// After this instant the key is refused.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last authenticated use (updated at most about once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The API keys aggregate.
#[derive(Clone, Copy)]
pub struct ApiKeys<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The API keys aggregate.
    pub fn api_keys(&self) -> ApiKeys<'_> {
        ApiKeys(self)
    }
}

impl ApiKeys<'_> {
    /// Stores a new key.
    pub async fn insert(self, row: &ApiKeyRow) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO api_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&row.id).bind(&row.user_id).bind(&row.workspace_id).bind(&row.name)
                .bind(&row.prefix).bind(&row.key_hash).bind(&row.scopes).bind(row.created_at)
                .bind(row.expires_at).bind(row.last_used_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The key whose hash is `key_hash`, if it exists (revoked keys do not).
    pub async fn by_hash(self, key_hash: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(key_hash).fetch_optional(p).await
        })
    }

    /// One page of the user's keys, newest first, and how many there are.
    pub async fn list(
        self,
        user_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ApiKeyRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_keys WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(user_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = $1")
                .bind(user_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Deletes the user's key `id`; false when the user has no such key.
    pub async fn delete(self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let n = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
                .bind(id).bind(user_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n > 0)
    }

    /// Records a use of key `id` at `at`.
    pub async fn touch(self, id: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                .bind(at).bind(id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
