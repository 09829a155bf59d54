//! Users, refresh tokens and failed-login records.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{BeginWrite, Store};
use crate::with_pool;

/// A stored user.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    /// `usr_…`
    pub id: String,
    /// Lower-cased email.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Bumped on logout; access tokens carrying an older version are refused.
    pub token_version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A stored refresh token (only its hash is kept).
#[derive(Debug, Clone, FromRow)]
pub struct RefreshTokenRow {
    /// Row id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// All tokens rotated from one login share a family.
    pub family_id: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Set when the token was exchanged.
    pub used_at: Option<DateTime<Utc>>,
    /// Set when the token (or its family) was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str = "id, email, password_hash, token_version, created_at";

impl Store {
    /// Inserts a user; a duplicate email surfaces as a unique violation.
    pub async fn insert_user(&self, user: &UserRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO users (id, email, password_hash, token_version, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&user.id).bind(&user.email).bind(&user.password_hash)
                .bind(user.token_version).bind(user.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Finds a user by lower-cased email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        with_pool!(&self.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(email).fetch_optional(p).await
        })
    }

    /// Finds a user by id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(&self.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })
    }

    /// A user, possibly up to a few seconds old (prompt rendering; never for auth decisions).
    pub async fn user_cached(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        if let Some(row) = self.cache.users.get(&id.to_string()) {
            return Ok(Some(row));
        }
        let row = self.user_by_id(id).await?;
        if let Some(row) = &row {
            self.cache.users.put(id.to_string(), row.clone());
        }
        Ok(row)
    }

    /// The current token version of a user, or `None` if the user is gone.
    pub async fn token_version(&self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_scalar("SELECT token_version FROM users WHERE id = $1")
                .bind(user_id).fetch_optional(p).await
        })
    }

    /// Bumps the token version and revokes every refresh token of the user.
    pub async fn revoke_all_tokens(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// Stores a new refresh token hash.
    pub async fn insert_refresh_token(
        &self,
        id: &str,
        user_id: &str,
        family_id: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id).bind(user_id).bind(family_id).bind(token_hash).bind(now).bind(expires_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Finds a refresh token by its hash.
    pub async fn refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash).fetch_optional(p).await
        })
    }

    /// Marks a token used; false when another request spent it first (a replay race).
    pub async fn spend_refresh_token(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.pool, p => {
            sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL")
                .bind(id).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Revokes every token of a family (replay detected).
    pub async fn revoke_family(
        &self,
        family_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(family_id).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Records a failed login for an email.
    pub async fn record_login_failure(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO login_failures (email, failed_at) VALUES ($1, $2)")
                .bind(email).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Failed logins for an email since `since`, and the oldest of them.
    pub async fn login_failures_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE email = $1 AND failed_at > $2")
                .bind(email).bind(since).fetch_one(p).await
        })
    }

    /// Forgets failed logins of an email (after a success) and prunes old ones.
    pub async fn clear_login_failures(
        &self,
        email: &str,
        older_than: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("DELETE FROM login_failures WHERE email = $1 OR failed_at < $2")
                .bind(email).bind(older_than).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Appends an audit entry.
    pub async fn audit(
        &self,
        user_id: &str,
        workspace_id: Option<&str>,
        action: &str,
        target: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        let id = super::ids::new_id("aud");
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO audit_log (id, user_id, workspace_id, action, target, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id).bind(user_id).bind(workspace_id).bind(action).bind(target)
                .bind(sqlx::types::Json(&details)).bind(Utc::now())
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
