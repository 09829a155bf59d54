//! Authentication: registration, login with brute-force protection, refresh-token rotation
//! with replay detection, logout, and verification of access tokens.

pub mod credentials;
pub mod tokens;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    error::{ApiError, ApiResult},
    store::{Store, TtlCache, UserRow, ids::new_id, is_unique_violation},
};
use credentials::{Email, Hasher, Password};
use tokens::{Claims, JwtKeys, hash_refresh_token, new_refresh_token};

/// Failed logins allowed per email within [`LOCK_WINDOW`] before 429.
pub const MAX_FAILED_LOGINS: i64 = 10;
/// The brute-force window.
pub const LOCK_WINDOW: Duration = Duration::from_secs(15 * 60);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// `usr_…`
    pub id: String,
}

/// A fresh access/refresh pair.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token.
    pub refresh_token: String,
}

/// Auth domain service (one per process).
pub struct AuthService {
    keys: JwtKeys,
    hasher: Hasher,
    access_ttl: Duration,
    refresh_ttl: Duration,
    /// User id → token version, cached briefly: a logout here takes effect at once, on
    /// other replicas within the TTL.
    versions: TtlCache<String, i64>,
}

impl AuthService {
    /// Builds the service from keys, hasher and token lifetimes.
    pub fn new(keys: JwtKeys, hasher: Hasher, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            keys,
            hasher,
            access_ttl,
            refresh_ttl,
            versions: TtlCache::new(Duration::from_secs(5)),
        }
    }

    /// Creates a user and signs them in.
    pub async fn register(
        &self,
        store: &Store,
        email: Email,
        password: Password,
    ) -> ApiResult<(UserRow, TokenPair)> {
        let hasher = self.hasher.clone();
        let hash = tokio::task::spawn_blocking(move || hasher.hash(password.expose()))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??;
        let user = UserRow {
            id: new_id("usr"),
            email: email.as_str().to_string(),
            password_hash: hash,
            token_version: 0,
            created_at: Utc::now(),
        };
        match store.insert_user(&user).await {
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::Conflict("Email is already registered".into()));
            }
            other => other?,
        }
        let tokens = self.issue(store, &user, &new_id("fam")).await?;
        store
            .audit(
                &user.id,
                None,
                "auth.register",
                None,
                json!({ "email": user.email }),
            )
            .await?;
        Ok((user, tokens))
    }

    /// Checks credentials; locks an email out after too many failures.
    pub async fn login(
        &self,
        store: &Store,
        email: &str,
        password: &str,
    ) -> ApiResult<(UserRow, TokenPair)> {
        let email = email.trim().to_lowercase();
        let now = Utc::now();
        let window_start = now - LOCK_WINDOW;
        let (failures, oldest) = store.login_failures_since(&email, window_start).await?;
        if failures >= MAX_FAILED_LOGINS {
            let unlock = oldest.unwrap_or(now) + LOCK_WINDOW;
            let retry_after = (unlock - now).num_seconds().max(1) as u64;
            return Err(ApiError::RateLimit { retry_after });
        }
        let user = store.user_by_email(&email).await?;
        let hasher = self.hasher.clone();
        let password = password.to_string();
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok =
            tokio::task::spawn_blocking(move || hasher.verify(&password, stored_hash.as_deref()))
                .await
                .map_err(|e| ApiError::Internal(e.into()))?;
        match user {
            Some(user) if ok => {
                store.clear_login_failures(&email, window_start).await?;
                let tokens = self.issue(store, &user, &new_id("fam")).await?;
                store
                    .audit(&user.id, None, "auth.login", None, json!({}))
                    .await?;
                Ok((user, tokens))
            }
            user => {
                store.record_login_failure(&email, now).await?;
                // Failures for unknown emails have no user to file them under.
                if let Some(user) = user {
                    store
                        .audit(
                            &user.id,
                            None,
                            "auth.login_failed",
                            None,
                            json!({ "reason": "invalid_password", "recentFailures": failures + 1 }),
                        )
                        .await?;
                }
                Err(ApiError::Unauthorized("Invalid email or password".into()))
            }
        }
    }

    /// Exchanges a refresh token for a new pair; a spent token revokes its whole family.
    pub async fn refresh(&self, store: &Store, refresh_token: &str) -> ApiResult<TokenPair> {
        let invalid = || ApiError::Unauthorized("Invalid refresh token".into());
        let now = Utc::now();
        let row = store
            .refresh_token(&hash_refresh_token(refresh_token))
            .await?
            .ok_or_else(invalid)?;
        if row.revoked_at.is_some() || row.used_at.is_some() {
            if row.used_at.is_some() {
                tracing::warn!(user_id = %row.user_id, "refresh token replay; revoking family");
                store.revoke_family(&row.family_id, now).await?;
                store
                    .audit(
                        &row.user_id,
                        None,
                        "auth.refresh_replay",
                        Some(&row.family_id),
                        json!({ "familyRevoked": true }),
                    )
                    .await?;
            }
            return Err(invalid());
        }
        if row.expires_at <= now {
            return Err(invalid());
        }
        if !store.spend_refresh_token(&row.id, now).await? {
            // Another request spent it first: a concurrent replay.
            store.revoke_family(&row.family_id, now).await?;
            store
                .audit(
                    &row.user_id,
                    None,
                    "auth.refresh_replay",
                    Some(&row.family_id),
                    json!({ "familyRevoked": true, "concurrent": true }),
                )
                .await?;
            return Err(invalid());
        }
        let user = store.user_by_id(&row.user_id).await?.ok_or_else(invalid)?;
        self.issue(store, &user, &row.family_id).await
    }

    /// Revokes every token of the user (refresh tokens and outstanding access tokens).
    pub async fn logout(&self, store: &Store, user_id: &str) -> ApiResult<()> {
        store.revoke_all_tokens(user_id, Utc::now()).await?;
        self.versions.forget(&user_id.to_string());
        store
            .audit(user_id, None, "auth.logout", None, json!({}))
            .await?;
        Ok(())
    }

    /// Verifies a bearer token and that it was not revoked by a logout.
    pub async fn authenticate(&self, store: &Store, token: &str) -> ApiResult<AuthUser> {
        let unauthorized = || ApiError::Unauthorized("Invalid or expired token".into());
        let claims = self.keys.verify(token).ok_or_else(unauthorized)?;
        let current = match self.versions.get(&claims.sub) {
            Some(v) => Some(v),
            None => {
                let v = store.token_version(&claims.sub).await?;
                if let Some(v) = v {
                    self.versions.put(claims.sub.clone(), v);
                }
                v
            }
        };
        match current {
            Some(v) if v == claims.ver => Ok(AuthUser { id: claims.sub }),
            _ => Err(unauthorized()),
        }
    }

    async fn issue(&self, store: &Store, user: &UserRow, family_id: &str) -> ApiResult<TokenPair> {
        let now = Utc::now();
        let claims = Claims {
            sub: user.id.clone(),
            uid: user.id.clone(),
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
            ver: user.token_version,
            typ: "access".into(),
        };
        let access_token = self.keys.sign(&claims)?;
        let refresh_token = new_refresh_token();
        let expires: DateTime<Utc> = now + self.refresh_ttl;
        store
            .insert_refresh_token(
                &new_id("rtk"),
                &user.id,
                family_id,
                &hash_refresh_token(&refresh_token),
                now,
                expires,
            )
            .await?;
        Ok(TokenPair {
            access_token,
            refresh_token,
        })
    }
}
