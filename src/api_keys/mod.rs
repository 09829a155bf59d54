//! Long-lived API keys for servers and SDKs: `ak_` + 32 random bytes (base64url), shown once.
//!
//! Only the SHA-256 of a key is stored; a request's key is looked up by its hash in the
//! database on every request (so a revocation holds at once on every replica) and the stored
//! hash is compared in constant time. A key acts as its user, optionally bound to one
//! workspace, within its [`Scopes`] ([`permits`]).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::task::TaskTracker;

pub use crate::auth::key_policy::{ApiKeyGrant, CHAT_ROUTES, Scopes, permits};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
    page::Page,
    store::{ApiKeyRow, Store, ids::new_id},
    validate::{Problems, length_between},
};

/// Every API key starts with this, which tells it apart from a JWT.
pub const KEY_PREFIX: &str = "ak_";
/// Characters of the key kept as its visible `prefix`.
const SHOWN_CHARS: usize = 12;
/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Display name (1–100 characters).
    pub name: String,
    /// Binds the key to this workspace (the caller must belong to it).
    pub workspace_id: Option<String>,
    /// When the key stops working (must be in the future).
    pub expires_at: Option<DateTime<Utc>>,
    /// Scope names; `None` = all.
    pub scopes: Option<Vec<String>>,
}

/// True when a bearer token is an API key rather than a JWT.
pub fn is_api_key(token: &str) -> bool {
    token.starts_with(KEY_PREFIX)
}

fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates a key for `user_id`; returns its row and the key itself (never stored).
pub async fn create(
    store: &Store,
    user_id: &str,
    input: NewApiKey,
) -> ApiResult<(ApiKeyRow, String)> {
    let now = Utc::now();
    let mut problems = Problems::new();
    problems.check(
        !length_between(input.name.trim(), 1, 100),
        "name",
        "must be 1-100 characters",
    );
    let scopes = match &input.scopes {
        None => Some(Scopes::default()),
        Some(names) => Scopes::parse(names),
    };
    problems.check(
        scopes.is_none(),
        "scopes",
        "must be a non-empty list of chat, read",
    );
    problems.check(
        input.expires_at.is_some_and(|at| at <= now),
        "expiresAt",
        "must be in the future",
    );
    problems.finish()?;
    let scopes = scopes.unwrap_or_default();
    if let Some(ws) = &input.workspace_id
        && store.workspaces().member_role(ws, user_id).await?.is_none()
    {
        return Err(ApiError::Forbidden(
            "You are not a member of this workspace".into(),
        ));
    }
    let bytes: [u8; 32] = rand::random();
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let row = ApiKeyRow {
        id: new_id("key"),
        user_id: user_id.to_string(),
        workspace_id: input.workspace_id,
        name: input.name.trim().to_string(),
        prefix: key.chars().take(SHOWN_CHARS).collect(),
        key_hash: hash_key(&key),
        scopes: scopes.stored(),
        created_at: now,
        expires_at: input.expires_at,
        last_used_at: None,
    };
    store.api_keys().insert(&row).await?;
    let details = json!({ "name": row.name, "prefix": row.prefix, "scopes": scopes.names() });
    store
        .users()
        .audit(
            user_id,
            row.workspace_id.as_deref(),
            "api_key.create",
            Some(&row.id),
            details,
        )
        .await?;
    Ok((row, key))
}

/// One page of the user's keys, newest first, and their total.
pub async fn list(store: &Store, user_id: &str, page: Page) -> ApiResult<(Vec<ApiKeyRow>, i64)> {
    Ok(store
        .api_keys()
        .list(user_id, page.limit, page.offset)
        .await?)
}

/// Revokes (deletes) the user's key `id`; 404 when the user has no such key.
pub async fn revoke(store: &Store, user_id: &str, id: &str) -> ApiResult<()> {
    if !store.api_keys().delete(user_id, id).await? {
        return Err(ApiError::not_found("API key"));
    }
    store
        .users()
        .audit(user_id, None, "api_key.revoke", Some(id), json!({}))
        .await?;
    Ok(())
}

/// The caller a key stands for; 401 for an unknown, revoked or expired key. A use is recorded
/// in the background (`tasks`), at most every minute per key.
pub async fn authenticate(store: &Store, tasks: &TaskTracker, key: &str) -> ApiResult<AuthUser> {
    let refused = || ApiError::Unauthorized("Invalid, revoked or expired API key".into());
    let hash = hash_key(key);
    let row = store.api_keys().by_hash(&hash).await?.ok_or_else(refused)?;
    let now = Utc::now();
    let matches = bool::from(row.key_hash.as_bytes().ct_eq(hash.as_bytes()));
    if !matches || row.expires_at.is_some_and(|at| at <= now) {
        return Err(refused());
    }
    if row.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
        let (store, id) = (store.clone(), row.id.clone());
        tasks.spawn(async move {
            if let Err(e) = store.api_keys().touch(&id, now).await {
                tracing::warn!(error = %e, "recording API key use");
            }
        });
    }
    Ok(AuthUser {
        id: row.user_id,
        api_key: Some(ApiKeyGrant {
            key_id: row.id,
            workspace_id: row.workspace_id,
            scopes: Scopes::from_stored(&row.scopes),
        }),
    })
}
