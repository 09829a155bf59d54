//! The long-term profile: one JSON object of facts and preferences per user and workspace.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::Owner;
use crate::{
    error::{ApiError, ApiResult},
    store::Store,
};

/// Largest profile, serialised, in bytes.
pub const PROFILE_MAX_BYTES: usize = 64 * 1024;
/// Longest profile key, in characters.
pub const KEY_MAX_CHARS: usize = 100;

/// A profile and when it last changed (`None` when never written).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Facts and preferences.
    pub facts: Map<String, Value>,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The user's profile (empty when none was written).
pub async fn load(store: &Store, owner: Owner<'_>) -> ApiResult<Profile> {
    Ok(
        match store
            .memory()
            .user_profile(owner.user_id, owner.workspace_id)
            .await?
        {
            Some((json, updated_at)) => Profile {
                facts: match json.0 {
                    Value::Object(map) => map,
                    _ => Map::new(),
                },
                updated_at: Some(updated_at),
            },
            None => Profile::default(),
        },
    )
}

/// Checks keys and size; the message names the problem.
pub fn check(facts: &Map<String, Value>) -> Result<(), String> {
    if let Some(key) = facts
        .keys()
        .find(|k| k.trim().is_empty() || k.chars().count() > KEY_MAX_CHARS)
    {
        return Err(format!(
            "key {key:?} must be 1-{KEY_MAX_CHARS} characters and not blank"
        ));
    }
    let size = serde_json::to_vec(facts)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > PROFILE_MAX_BYTES {
        return Err(format!(
            "is {size} bytes; at most {PROFILE_MAX_BYTES} bytes are kept"
        ));
    }
    Ok(())
}

/// Replaces the whole profile.
pub async fn replace(store: &Store, owner: Owner<'_>, profile: Value) -> ApiResult<Profile> {
    let Value::Object(facts) = profile else {
        return Err(ApiError::field("profile", "must be a JSON object"));
    };
    check(&facts).map_err(|p| ApiError::field("profile", p))?;
    let now = Utc::now();
    store
        .memory()
        .put_user_profile(owner.user_id, owner.workspace_id, &facts, now)
        .await?;
    Ok(Profile {
        facts,
        updated_at: Some(now),
    })
}

/// Sets some keys and removes others, atomically with respect to other edits.
pub async fn update(
    store: &Store,
    owner: Owner<'_>,
    set: Map<String, Value>,
    remove: Vec<String>,
) -> ApiResult<Profile> {
    let now = Utc::now();
    let edited = store
        .memory()
        .edit_user_profile(owner.user_id, owner.workspace_id, now, |mut facts| {
            for key in &remove {
                facts.remove(key);
            }
            for (key, value) in set {
                // Setting null is how a model clears a fact, as with `remove`.
                if value.is_null() {
                    facts.remove(&key);
                } else {
                    facts.insert(key, value);
                }
            }
            check(&facts).map(|()| facts)
        })
        .await?
        .map_err(|p| ApiError::field("profile", p))?;
    Ok(Profile {
        facts: edited,
        updated_at: Some(now),
    })
}
