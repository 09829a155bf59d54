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
    /// True when the whole family was revoked (replay or logout), whenever the token was issued.
    pub family_revoked: bool,
}

/// A refresh token to store (only its hash).
#[derive(Debug, Clone, Copy)]
pub struct NewRefreshToken<'a> {
    /// Row id.
    pub id: &'a str,
    /// Owner.
    pub user_id: &'a str,
    /// Family (one per login).
    pub family_id: &'a str,
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

const INSERT_REFRESH: &str = "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";

const USER_COLUMNS: &str = "id, email, password_hash, token_version, created_at";

/// Users, refresh tokens and failed-login records.
#[derive(Clone, Copy)]
pub struct Users<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The users aggregate.
    pub fn users(&self) -> Users<'_> {
        Users(self)
    }
}

impl Users<'_> {
    /// Inserts a user; a duplicate email surfaces as a unique violation.
    pub async fn insert_user(self, user: &UserRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO users (id, email, password_hash, token_version, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&user.id).bind(&user.email).bind(&user.password_hash)
                .bind(user.token_version).bind(user.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Finds a user by lower-cased email.
    pub async fn user_by_email(self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(email).fetch_optional(p).await
        })
    }

    /// Finds a user by id.
    pub async fn user_by_id(self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await
        })
    }

    /// A user, possibly up to a few seconds old (prompt rendering; never for auth decisions).
    pub async fn user_cached(self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        if let Some(row) = self.0.cache.users.get(&id.to_string()) {
            return Ok(Some(row));
        }
        let row = self.user_by_id(id).await?;
        if let Some(row) = &row {
            self.0.cache.users.put(id.to_string(), row.clone());
        }
        Ok(row)
    }

    /// The current token version of a user, or `None` if the user is gone.
    pub async fn token_version(self, user_id: &str) -> Result<Option<i64>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT token_version FROM users WHERE id = $1")
                .bind(user_id).fetch_optional(p).await
        })
    }

    /// Bumps the token version and revokes every refresh token of the user, recording each of
    /// their families as revoked so that a token a concurrent refresh issues into one of them
    /// is refused as well.
    pub async fn revoke_all_tokens(
        self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO revoked_token_families (family_id, user_id, revoked_at) SELECT DISTINCT family_id, user_id, $2 FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL ON CONFLICT (family_id) DO NOTHING")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(user_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// Stores the refresh token of a new login (a new family).
    pub async fn insert_refresh_token(
        self,
        token: &NewRefreshToken<'_>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query(INSERT_REFRESH)
                .bind(token.id).bind(token.user_id).bind(token.family_id).bind(token.token_hash)
                .bind(token.created_at).bind(token.expires_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Finds a refresh token by its hash; `family_revoked` tells whether its family is.
    pub async fn refresh_token(
        self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT t.id, t.user_id, t.family_id, t.expires_at, t.used_at, t.revoked_at, \
                EXISTS (SELECT 1 FROM revoked_token_families f WHERE f.family_id = t.family_id) AS family_revoked \
                FROM refresh_tokens t WHERE t.token_hash = $1")
                .bind(token_hash).fetch_optional(p).await
        })
    }

    /// Spends refresh token `old_id` and stores its successor in one transaction. The spend is
    /// conditional (unspent, unrevoked, family not revoked); `None` when it did not apply —
    /// another request spent it first or the family was revoked. Otherwise the user's current
    /// token version, read inside the same transaction, for the new access token.
    pub async fn rotate_refresh_token(
        self,
        old_id: &str,
        new: &NewRefreshToken<'_>,
    ) -> Result<Option<i64>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let spent = sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL \
                AND NOT EXISTS (SELECT 1 FROM revoked_token_families f WHERE f.family_id = refresh_tokens.family_id)")
                .bind(old_id).bind(new.created_at).execute(&mut *tx).await?.rows_affected();
            if spent != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
            let version: Option<i64> = sqlx::query_scalar("SELECT token_version FROM users WHERE id = $1")
                .bind(new.user_id).fetch_optional(&mut *tx).await?;
            let Some(version) = version else {
                tx.rollback().await?;
                return Ok(None);
            };
            sqlx::query(INSERT_REFRESH)
                .bind(new.id).bind(new.user_id).bind(new.family_id).bind(new.token_hash)
                .bind(new.created_at).bind(new.expires_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(version))
        })
    }

    /// Revokes a family after a replay: records the revocation (checked on every refresh),
    /// revokes its tokens and bumps the owner's token version so that access tokens issued
    /// from it stop working too.
    pub async fn revoke_family(
        self,
        family_id: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO revoked_token_families (family_id, user_id, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (family_id) DO NOTHING")
                .bind(family_id).bind(user_id).bind(now).execute(&mut *tx).await?;
            sqlx::query("UPDATE users SET token_version = token_version + 1 WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(family_id).bind(now).execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// Forgets family revocations older than `older_than` (pass a time before which every
    /// token of a revoked family has expired).
    pub async fn prune_revoked_families(
        self,
        older_than: DateTime<Utc>,
    ) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM revoked_token_families WHERE revoked_at < $1")
                .bind(older_than).execute(p).await.map(|r| r.rows_affected())
        })
    }

    /// Admits a login attempt for an email before its password is checked, atomically: with
    /// fewer than `max` attempts since `since`, records this one (it stays as the failure
    /// record unless the login succeeds) and returns `Ok(n)`, its rank in the window; otherwise
    /// records nothing and returns `Err(oldest)`, the oldest attempt of the window. The count
    /// and the insert run under a per-email lock, so parallel attempts cannot all see room.
    pub async fn admit_login_attempt(
        self,
        email: &str,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        max: i64,
    ) -> Result<Result<i64, DateTime<Utc>>, sqlx::Error> {
        const COUNT: &str = "SELECT COUNT(*), MIN(failed_at) FROM login_failures WHERE email = $1 AND failed_at > $2";
        const INSERT: &str = "INSERT INTO login_failures (email, failed_at) VALUES ($1, $2)";
        with_pool!(&self.0.pool, p => {
            // SQLite: `BEGIN IMMEDIATE` already serialises writers.
            let mut tx = p.begin_write().await?;
            if let super::Pool::Postgres(_) = &self.0.pool {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(email).execute(&mut *tx).await?;
            }
            let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(COUNT)
                .bind(email).bind(since).fetch_one(&mut *tx).await?;
            if count >= max {
                tx.rollback().await?;
                return Ok(Err(oldest.unwrap_or(now)));
            }
            sqlx::query(INSERT).bind(email).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Ok(count + 1))
        })
    }

    /// Forgets the failed logins of an email (after a success).
    pub async fn clear_login_failures(self, email: &str) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM login_failures WHERE email = $1")
                .bind(email).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Deletes failed logins older than `older_than`; returns how many went.
    pub async fn prune_login_failures(self, older_than: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
                .bind(older_than).execute(p).await.map(|r| r.rows_affected())
        })
    }

    /// Appends an audit entry.
    pub async fn audit(
        self,
        user_id: &str,
        workspace_id: Option<&str>,
        action: &str,
        target: Option<&str>,
        details: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        let id = super::ids::new_id("aud");
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO audit_log (id, user_id, workspace_id, action, target, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id).bind(user_id).bind(workspace_id).bind(action).bind(target)
                .bind(sqlx::types::Json(&details)).bind(Utc::now())
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
