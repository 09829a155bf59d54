//! Memory-profile operations behind the `/memory-profiles` routes, including their
//! assignment to agents (stored as the agent's `memoryProfileId`, so it is versioned).

use super::{
    AgentConfig, MemoryProfileIn, MemoryProfileSpec,
    service::{AgentEnv, require_own, save},
    stored::decode,
};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{MemoryProfileRow, ProfileDeletion, Store, ids::new_id, is_unique_violation},
};

fn apply(row: &mut MemoryProfileRow, spec: MemoryProfileSpec) {
    let [session, daily, profile, notes] = spec.tiers;
    row.name = spec.name;
    row.description = spec.description;
    row.tier_session = session;
    row.tier_daily = daily;
    row.tier_profile = profile;
    row.tier_notes = notes;
    row.ttl_days = spec.ttl_days;
    row.max_context_chunks = spec.max_context_chunks;
    row.min_relevance_score = spec.min_relevance_score;
    row.system_prompt_suffix = spec.system_prompt_suffix;
}

fn duplicate_name(err: sqlx::Error) -> ApiError {
    if is_unique_violation(&err) {
        ApiError::Conflict("A memory profile with this name already exists".into())
    } else {
        err.into()
    }
}

/// Creates a profile; a taken name is 409.
pub async fn create(
    store: &Store,
    ws: &str,
    actor: &str,
    input: MemoryProfileIn,
) -> ApiResult<MemoryProfileRow> {
    let spec = input.validate()?;
    let now = super::stored_now();
    let mut row = MemoryProfileRow {
        id: new_id("mp"),
        workspace_id: ws.to_string(),
        name: String::new(),
        description: String::new(),
        tier_session: true,
        tier_daily: true,
        tier_profile: true,
        tier_notes: true,
        ttl_days: None,
        max_context_chunks: 0,
        min_relevance_score: 0.0,
        system_prompt_suffix: String::new(),
        created_by: actor.to_string(),
        created_at: now,
        updated_at: now,
    };
    apply(&mut row, spec);
    store
        .memory_profiles()
        .insert_memory_profile(&row)
        .await
        .map_err(duplicate_name)?;
    Ok(row)
}

/// One page of the workspace's profiles, oldest first, and how many there are.
pub async fn list(store: &Store, ws: &str, page: Page) -> ApiResult<(Vec<MemoryProfileRow>, i64)> {
    Ok(store
        .memory_profiles()
        .memory_profiles(ws, page.limit, page.offset)
        .await?)
}

/// One profile of the workspace.
pub async fn get(store: &Store, ws: &str, id: &str) -> ApiResult<MemoryProfileRow> {
    store
        .memory_profiles()
        .memory_profile(ws, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Memory profile"))
}

/// Replaces a profile's fields.
pub async fn update(
    store: &Store,
    ws: &str,
    id: &str,
    input: MemoryProfileIn,
) -> ApiResult<MemoryProfileRow> {
    let mut row = get(store, ws, id).await?;
    apply(&mut row, input.validate()?);
    row.updated_at = super::stored_now();
    if !store
        .memory_profiles()
        .update_memory_profile(&row)
        .await
        .map_err(duplicate_name)?
    {
        return Err(ApiError::not_found("Memory profile"));
    }
    Ok(row)
}

/// Deletes a profile; assigned to agents it is 409 unless `force`, which clears them.
pub async fn delete(store: &Store, ws: &str, actor: &str, id: &str, force: bool) -> ApiResult<()> {
    let outcome = store
        .memory_profiles()
        .delete_memory_profile(ws, id, force, actor, super::stored_now(), |config| {
            let mut config = AgentConfig::from_doc(config)?;
            config.memory_profile_id = None;
            config.to_doc()
        })
        .await
        .map_err(|e| {
            // The foreign key caught an assignment made while we were deleting.
            if e.as_database_error()
                .is_some_and(|d| d.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
            {
                ApiError::Conflict("The memory profile was just assigned to an agent".into())
            } else {
                e.into()
            }
        })?;
    match outcome {
        ProfileDeletion::Deleted(_) => Ok(()),
        ProfileDeletion::NotFound => Err(ApiError::not_found("Memory profile")),
        ProfileDeletion::InUse(agents) => Err(ApiError::Conflict(format!(
            "The memory profile is assigned to {}; pass ?force=true to clear those assignments",
            agents.join(", ")
        ))),
    }
}

/// An agent's assignment: `(agent id, profile)`. Global agents never have one.
pub async fn assignment(
    env: &AgentEnv<'_>,
    ws: &str,
    agent_id: &str,
) -> ApiResult<Option<MemoryProfileRow>> {
    let Some(row) = env.store.agents().agent(ws, agent_id).await? else {
        return match env.globals.get(agent_id) {
            Some(_) => Ok(None),
            None => Err(ApiError::not_found("Agent")),
        };
    };
    match &decode(row.config)?.memory_profile_id {
        Some(id) => Ok(env.store.memory_profiles().memory_profile(ws, id).await?),
        None => Ok(None),
    }
}

/// Assigns a profile to a workspace agent (or clears it with `None`), as a new agent
/// version when it changes.
pub async fn assign(
    env: &AgentEnv<'_>,
    ws: &str,
    actor: &str,
    agent_id: &str,
    profile_id: Option<&str>,
) -> ApiResult<Option<MemoryProfileRow>> {
    let row = require_own(env, ws, agent_id).await?;
    let profile = match profile_id {
        Some(id) => Some(
            env.store
                .memory_profiles()
                .memory_profile(ws, id)
                .await?
                .ok_or_else(|| {
                    ApiError::field("profileId", "no such memory profile in this workspace")
                })?,
        ),
        None => None,
    };
    let mut config = decode(row.config)?;
    let wanted = profile.as_ref().map(|p| p.id.clone());
    if config.memory_profile_id != wanted {
        config.memory_profile_id = wanted;
        save(env, ws, actor, &config, "agent.memory_profile").await?;
    }
    Ok(profile)
}
