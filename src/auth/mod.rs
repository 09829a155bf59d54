//! Authentication: registration, login with brute-force protection, refresh-token rotation
//! with replay detection, logout, and verification of access tokens.
//!
//! Defences: password hashing is bounded by [`hashing::HashGate`]; `/auth/*` is limited per
//! client IP ([`AuthService::check_ip`]); a login attempt is counted before its password is
//! verified, so parallel guesses cannot outrun the lock; a refresh spends the old token and
//! stores the new one in one transaction and a revoked family stays revoked for tokens issued
//! later; a logout is visible to the next request on this replica ([`versions`]).

pub mod credentials;
pub mod hashing;
pub mod key_policy;
pub mod tokens;
pub mod versions;

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{
    cluster::Redis,
    error::{ApiError, ApiResult},
    rate::RateLimiter,
    store::{Invalidation, NewRefreshToken, Store, UserRow, ids::new_id, is_unique_violation},
};
use credentials::{Email, Hasher, Password};
use hashing::HashGate;
use tokens::{Claims, JwtKeys, hash_refresh_token, new_refresh_token};
use versions::VersionCache;

/// Failed logins allowed per email within [`LOCK_WINDOW`] before 429.
pub const MAX_FAILED_LOGINS: i64 = 10;
/// The brute-force window.
pub const LOCK_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How often old failed logins and family revocations are pruned (opportunistically, by the
/// login that finds the last pruning this old).
pub const PRUNE_EVERY: Duration = Duration::from_secs(5 * 60);

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// `usr_…`
    pub id: String,
    /// Set when the caller came with an API key: what the key limits the request to.
    pub api_key: Option<key_policy::ApiKeyGrant>,
}

impl AuthUser {
    /// A caller with the user's full rights (a JWT, or the server acting for the user).
    pub fn user(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            api_key: None,
        }
    }
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
    gate: HashGate,
    access_ttl: Duration,
    refresh_ttl: Duration,
    /// User id → token version (see [`versions`]).
    versions: VersionCache,
    /// `/auth/*` requests per client IP per minute.
    ip_limiter: RateLimiter,
    /// When old failed logins were last pruned.
    last_prune: Mutex<Option<std::time::Instant>>,
}

impl AuthService {
    /// Builds the service from keys, hasher and token lifetimes (no per-IP limit).
    pub fn new(keys: JwtKeys, hasher: Hasher, access_ttl: Duration, refresh_ttl: Duration) -> Self {
        Self {
            keys,
            hasher,
            gate: HashGate::default(),
            access_ttl,
            refresh_ttl,
            versions: VersionCache::default(),
            ip_limiter: RateLimiter::new(0),
            last_prune: Mutex::new(None),
        }
    }

    /// Limits `/auth/*` to `per_minute` requests per client IP (0 = no limit).
    pub fn with_ip_limit(mut self, per_minute: u32, shared: Option<Arc<Redis>>) -> Self {
        self.ip_limiter = RateLimiter::new(per_minute).named("auth").shared(shared);
        self
    }

    /// Counts one `/auth/*` request of `ip`; 429 with `Retry-After` over the limit. IPv6
    /// clients are counted per /64, the block one subscriber usually holds.
    pub async fn check_ip(&self, ip: IpAddr) -> ApiResult<()> {
        let key = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            IpAddr::V4(v4) => v4.to_string(),
        };
        match self.ip_limiter.check(&key).await {
            Some(d) if !d.allowed => Err(ApiError::RateLimit {
                retry_after: d.reset_secs,
            }),
            _ => Ok(()),
        }
    }

    /// Applies another replica's invalidation to this replica's token-version cache.
    pub fn apply_invalidation(&self, invalidation: &Invalidation) {
        match invalidation {
            Invalidation::TokenVersion { user } => self.versions.invalidate(user),
            Invalidation::All => self.versions.clear(),
            _ => {}
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
        let hash = self
            .gate
            .run(move || hasher.hash(password.expose()))
            .await??;
        let user = UserRow {
            id: new_id("usr"),
            email: email.as_str().to_string(),
            password_hash: hash,
            token_version: 0,
            created_at: Utc::now(),
        };
        match store.users().insert_user(&user).await {
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::Conflict("Email is already registered".into()));
            }
            other => other?,
        }
        let tokens = self.issue(store, &user).await?;
        store
            .users()
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

    /// Checks credentials; locks an email out after too many failures. The attempt is counted
    /// before the password is verified, so at most [`MAX_FAILED_LOGINS`] guesses per window
    /// are ever verified, however many arrive at once.
    pub async fn login(
        &self,
        store: &Store,
        email: &Email,
        password: &str,
    ) -> ApiResult<(UserRow, TokenPair)> {
        let email = email.as_str();
        let now = Utc::now();
        self.prune_if_due(store, now).await;
        // The slot is taken before the attempt is counted, so attempts in flight (counted,
        // not yet verified) are bounded by the slots: parallel correct logins do not lock
        // each other out.
        let slot = self.gate.acquire().await?;
        let attempts = match store
            .users()
            .admit_login_attempt(email, now, now - LOCK_WINDOW, MAX_FAILED_LOGINS)
            .await?
        {
            Ok(rank) => rank,
            Err(oldest) => {
                let unlock = oldest + LOCK_WINDOW;
                let retry_after = (unlock - now).num_seconds().max(1) as u64;
                return Err(ApiError::RateLimit { retry_after });
            }
        };
        let user = store.users().user_by_email(email).await?;
        let hasher = self.hasher.clone();
        let password = password.to_string();
        let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
        let ok = slot
            .run(move || hasher.verify(&password, stored_hash.as_deref()))
            .await?;
        match user {
            Some(user) if ok => {
                store.users().clear_login_failures(email).await?;
                let tokens = self.issue(store, &user).await?;
                store
                    .users()
                    .audit(&user.id, None, "auth.login", None, json!({}))
                    .await?;
                Ok((user, tokens))
            }
            // The counted attempt stays as the failure record.
            user => {
                // Failures for unknown emails have no user to file them under.
                if let Some(user) = user {
                    store
                        .users()
                        .audit(
                            &user.id,
                            None,
                            "auth.login_failed",
                            None,
                            json!({ "reason": "invalid_password", "recentFailures": attempts }),
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
            .users()
            .refresh_token(&hash_refresh_token(refresh_token))
            .await?
            .ok_or_else(invalid)?;
        if row.family_revoked || row.revoked_at.is_some() {
            return Err(invalid());
        }
        if row.used_at.is_some() {
            self.revoke_family(store, &row.user_id, &row.family_id, false)
                .await?;
            return Err(invalid());
        }
        if row.expires_at <= now {
            return Err(invalid());
        }
        let token = new_refresh_token();
        let (id, hash) = (new_id("rtk"), hash_refresh_token(&token));
        let new = NewRefreshToken {
            id: &id,
            user_id: &row.user_id,
            family_id: &row.family_id,
            token_hash: &hash,
            created_at: now,
            expires_at: now + self.refresh_ttl,
        };
        let Some(version) = store.users().rotate_refresh_token(&row.id, &new).await? else {
            // Another request spent it first (a concurrent replay) or the family was revoked.
            self.revoke_family(store, &row.user_id, &row.family_id, true)
                .await?;
            return Err(invalid());
        };
        Ok(TokenPair {
            access_token: self.sign(&row.user_id, version, now)?,
            refresh_token: token,
        })
    }

    async fn revoke_family(
        &self,
        store: &Store,
        user_id: &str,
        family_id: &str,
        concurrent: bool,
    ) -> ApiResult<()> {
        tracing::warn!(user_id = %user_id, "refresh token replay; revoking family");
        store
            .users()
            .revoke_family(family_id, user_id, Utc::now())
            .await?;
        self.versions.invalidate(user_id);
        store.publish(Invalidation::TokenVersion {
            user: user_id.to_string(),
        });
        store
            .users()
            .audit(
                user_id,
                None,
                "auth.refresh_replay",
                Some(family_id),
                json!({ "familyRevoked": true, "concurrent": concurrent }),
            )
            .await?;
        Ok(())
    }

    /// Revokes every token of the user (refresh tokens and outstanding access tokens).
    pub async fn logout(&self, store: &Store, user_id: &str) -> ApiResult<()> {
        store.users().revoke_all_tokens(user_id, Utc::now()).await?;
        // After the commit: a read racing the logout cannot re-cache the old version.
        self.versions.invalidate(user_id);
        store.publish(Invalidation::TokenVersion {
            user: user_id.to_string(),
        });
        store
            .users()
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
                let epoch = self.versions.epoch();
                let v = store.users().token_version(&claims.sub).await?;
                if let Some(v) = v {
                    self.versions.put(epoch, &claims.sub, v);
                }
                v
            }
        };
        match current {
            Some(v) if v == claims.ver => Ok(AuthUser::user(claims.sub)),
            _ => Err(unauthorized()),
        }
    }

    /// Prunes failed logins older than the lock window and family revocations whose tokens
    /// have all expired, at most every [`PRUNE_EVERY`]; failures are logged, never fatal.
    async fn prune_if_due(&self, store: &Store, now: DateTime<Utc>) {
        {
            let mut last = self.last_prune.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        if let Err(e) = store.users().prune_login_failures(now - LOCK_WINDOW).await {
            tracing::warn!(error = %e, "pruning failed logins");
        }
        // A token issued into a family right as it was revoked expires one lifetime later.
        let horizon = now - self.refresh_ttl - Duration::from_secs(3600);
        if let Err(e) = store.users().prune_revoked_families(horizon).await {
            tracing::warn!(error = %e, "pruning revoked token families");
        }
    }

    fn sign(&self, user_id: &str, version: i64, now: DateTime<Utc>) -> ApiResult<String> {
        let claims = Claims {
            sub: user_id.to_string(),
            uid: user_id.to_string(),
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
            ver: version,
            typ: "access".into(),
        };
        Ok(self.keys.sign(&claims)?)
    }

    /// Signs in a user with a new token family.
    async fn issue(&self, store: &Store, user: &UserRow) -> ApiResult<TokenPair> {
        let now = Utc::now();
        let access_token = self.sign(&user.id, user.token_version, now)?;
        let refresh_token = new_refresh_token();
        let (id, family, hash) = (
            new_id("rtk"),
            new_id("fam"),
            hash_refresh_token(&refresh_token),
        );
        store
            .users()
            .insert_refresh_token(&NewRefreshToken {
                id: &id,
                user_id: &user.id,
                family_id: &family,
                token_hash: &hash,
                created_at: now,
                expires_at: now + self.refresh_ttl,
            })
            .await?;
        Ok(TokenPair {
            access_token,
            refresh_token,
        })
    }
}
