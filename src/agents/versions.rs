//! Agent version history: listing, reading, rollback (itself a new version) and labels.
//!
//! A global agent has exactly one version, its `astra.yml` definition, which can be read but
//! neither rolled back nor labelled.

use chrono::{DateTime, Utc};

use super::{
    AgentConfig, GlobalAgents,
    service::{AgentEnv, AgentView, require_own, save},
    stored::decode,
};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::AgentVersionRow,
};

/// One version as served.
#[derive(Debug, Clone)]
pub struct VersionView {
    /// Agent id.
    pub agent_id: String,
    /// 1, 2, …
    pub version: i64,
    /// The configuration of that version.
    pub config: AgentConfig,
    /// Free-form label.
    pub label: Option<String>,
    /// Who saved it (`None` for a global agent).
    pub created_by: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<AgentVersionRow> for VersionView {
    type Error = ApiError;
    fn try_from(row: AgentVersionRow) -> ApiResult<Self> {
        Ok(Self {
            agent_id: row.agent_id,
            version: row.version,
            config: decode(row.config)?,
            label: row.label,
            created_by: Some(row.created_by),
            created_at: row.created_at,
        })
    }
}

fn global_version(config: &AgentConfig, globals: &GlobalAgents) -> VersionView {
    VersionView {
        agent_id: config.id.as_str().to_string(),
        version: 1,
        config: config.clone(),
        label: None,
        created_by: None,
        created_at: globals.loaded_at(),
    }
}

/// An agent's versions, newest first, plus the total.
pub async fn list(
    env: &AgentEnv<'_>,
    ws: &str,
    id: &str,
    page: Page,
) -> ApiResult<(Vec<VersionView>, i64)> {
    if env.store.agents().agent(ws, id).await?.is_none() {
        let global = env
            .globals
            .get(id)
            .ok_or_else(|| ApiError::not_found("Agent"))?;
        let items = if page.offset == 0 {
            vec![global_version(global, env.globals)]
        } else {
            Vec::new()
        };
        return Ok((items, 1));
    }
    let (rows, total) = env
        .store
        .agents()
        .agent_versions(ws, id, page.limit, page.offset)
        .await?;
    let items = rows.into_iter().map(VersionView::try_from);
    Ok((items.collect::<ApiResult<_>>()?, total))
}

/// One version of an agent.
pub async fn get(env: &AgentEnv<'_>, ws: &str, id: &str, version: i64) -> ApiResult<VersionView> {
    if env.store.agents().agent(ws, id).await?.is_none() {
        return match env.globals.get(id) {
            Some(g) if version == 1 => Ok(global_version(g, env.globals)),
            Some(_) => Err(ApiError::not_found("Version")),
            None => Err(ApiError::not_found("Agent")),
        };
    }
    env.store
        .agents()
        .agent_version(ws, id, version)
        .await?
        .map(VersionView::try_from)
        .transpose()?
        .ok_or_else(|| ApiError::not_found("Version"))
}

/// Makes an old version live again, recorded as a new version. A memory profile deleted
/// since that version is dropped from the restored config rather than blocking the rollback.
pub async fn rollback(
    env: &AgentEnv<'_>,
    ws: &str,
    actor: &str,
    id: &str,
    version: i64,
) -> ApiResult<AgentView> {
    require_own(env, ws, id).await?;
    let mut config = decode(
        env.store
            .agents()
            .agent_version(ws, id, version)
            .await?
            .ok_or_else(|| ApiError::not_found("Version"))?
            .config,
    )?;
    if let Some(profile) = &config.memory_profile_id
        && env
            .store
            .memory_profiles()
            .memory_profile(ws, profile)
            .await?
            .is_none()
    {
        config.memory_profile_id = None;
    }
    save(env, ws, actor, &config, "agent.rollback").await
}

/// Sets (or, with `None`, clears) a version's label: at most 100 characters.
pub async fn label(
    env: &AgentEnv<'_>,
    ws: &str,
    id: &str,
    version: i64,
    label: Option<&str>,
) -> ApiResult<VersionView> {
    require_own(env, ws, id).await?;
    let label = label.map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > 100) {
        return Err(ApiError::field("label", "must be at most 100 characters"));
    }
    if !env
        .store
        .agents()
        .label_agent_version(ws, id, version, label)
        .await?
    {
        return Err(ApiError::not_found("Version"));
    }
    get(env, ws, id, version).await
}
