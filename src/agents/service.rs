//! Agent operations behind the `/agents` routes: the workspace's own agents merged with the
//! global ones, workspace rules checked on every save.

use chrono::{DateTime, Utc};

use super::{AgentConfig, AgentConfigIn, GlobalAgents};
use crate::{
    error::{ApiError, ApiResult},
    http::validate::Problems,
    store::{AgentRow, Store, is_unique_violation},
};

/// An agent as served: its config plus where it lives and its version.
#[derive(Debug, Clone)]
pub struct AgentView {
    /// The configuration.
    pub config: AgentConfig,
    /// Owning workspace; `None` for global agents.
    pub workspace_id: Option<String>,
    /// Current version (always 1 for global agents).
    pub version: i64,
    /// Defined in `astra.yml`.
    pub global: bool,
    /// Creation time (start-up for global agents).
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<AgentRow> for AgentView {
    fn from(row: AgentRow) -> Self {
        Self {
            config: row.config.0,
            workspace_id: Some(row.workspace_id),
            version: row.version,
            global: false,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl AgentView {
    /// The view of a global agent.
    pub fn global(config: &AgentConfig, globals: &GlobalAgents) -> Self {
        Self {
            config: config.clone(),
            workspace_id: None,
            version: 1,
            global: true,
            created_at: globals.loaded_at(),
            updated_at: globals.loaded_at(),
        }
    }
}

/// The 403 for any attempt to change a global agent.
pub fn global_is_readonly() -> ApiError {
    ApiError::Forbidden("Global agents are defined in astra.yml and cannot be modified".into())
}

/// The workspace's agents plus the global agents they do not shadow, by id.
pub async fn list(store: &Store, globals: &GlobalAgents, ws: &str) -> ApiResult<Vec<AgentView>> {
    let own: Vec<AgentView> = store
        .agents_of(ws)
        .await?
        .into_iter()
        .map(AgentView::from)
        .collect();
    let mut all: Vec<AgentView> = globals
        .all()
        .filter(|g| !own.iter().any(|a| a.config.id == g.id))
        .map(|g| AgentView::global(g, globals))
        .collect();
    all.extend(own);
    all.sort_by(|a, b| a.config.id.cmp(&b.config.id));
    Ok(all)
}

/// The workspace's agent, else the global one; another workspace's agent is 404.
pub async fn get(
    store: &Store,
    globals: &GlobalAgents,
    ws: &str,
    id: &str,
) -> ApiResult<AgentView> {
    if let Some(row) = store.agent(ws, id).await? {
        return Ok(row.into());
    }
    globals
        .get(id)
        .map(|g| AgentView::global(g, globals))
        .ok_or_else(|| ApiError::not_found("Agent"))
}

/// Creates a workspace agent (it may shadow a global one); a taken id is 409.
pub async fn create(
    store: &Store,
    ws: &str,
    actor: &str,
    input: AgentConfigIn,
) -> ApiResult<AgentView> {
    let config = input.validate(None)?;
    check_workspace_rules(store, ws, &config).await?;
    let now = super::stored_now();
    match store.insert_agent(ws, &config, actor, now).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "An agent with id {:?} already exists in this workspace",
                config.id.as_str()
            )));
        }
        other => other?,
    }
    store
        .audit(
            actor,
            Some(ws),
            "agent.create",
            Some(config.id.as_str()),
            serde_json::Value::Null,
        )
        .await?;
    Ok(AgentView {
        config,
        workspace_id: Some(ws.to_string()),
        version: 1,
        global: false,
        created_at: now,
        updated_at: now,
    })
}

/// Replaces a workspace agent's config as a new version.
pub async fn update(
    store: &Store,
    globals: &GlobalAgents,
    ws: &str,
    actor: &str,
    id: &str,
    input: AgentConfigIn,
) -> ApiResult<AgentView> {
    require_own(store, globals, ws, id).await?;
    let config = input.validate(Some(id))?;
    save(store, ws, actor, &config, "agent.update").await
}

/// Checks the workspace rules and saves `config` as the agent's next version.
pub(super) async fn save(
    store: &Store,
    ws: &str,
    actor: &str,
    config: &AgentConfig,
    action: &str,
) -> ApiResult<AgentView> {
    check_workspace_rules(store, ws, config).await?;
    let row = store
        .update_agent(ws, config, actor, super::stored_now())
        .await?
        .ok_or_else(|| ApiError::not_found("Agent"))?;
    store
        .audit(
            actor,
            Some(ws),
            action,
            Some(config.id.as_str()),
            serde_json::json!({"version": row.version}),
        )
        .await?;
    Ok(row.into())
}

/// Deletes a workspace agent and its history.
pub async fn delete(
    store: &Store,
    globals: &GlobalAgents,
    ws: &str,
    actor: &str,
    id: &str,
) -> ApiResult<()> {
    require_own(store, globals, ws, id).await?;
    if !store.delete_agent(ws, id).await? {
        return Err(ApiError::not_found("Agent"));
    }
    store
        .audit(
            actor,
            Some(ws),
            "agent.delete",
            Some(id),
            serde_json::Value::Null,
        )
        .await?;
    Ok(())
}

/// The workspace's own agent; a global one is 403 (read-only), anything else 404.
pub(super) async fn require_own(
    store: &Store,
    globals: &GlobalAgents,
    ws: &str,
    id: &str,
) -> ApiResult<AgentRow> {
    match store.agent(ws, id).await? {
        Some(row) => Ok(row),
        None if globals.get(id).is_some() => Err(global_is_readonly()),
        None => Err(ApiError::not_found("Agent")),
    }
}

/// Rules that depend on the workspace: its provider/model restrictions and the memory
/// profile, which must be one of its own.
pub(super) async fn check_workspace_rules(
    store: &Store,
    ws: &str,
    config: &AgentConfig,
) -> ApiResult<()> {
    let row = store
        .workspace(ws)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let mut p = Problems::new();
    if let Some(allowed) = &row.allowed_providers {
        let mut providers = vec![("model.provider", config.model.provider.as_str())];
        if let Some(f) = &config.model.fallback {
            providers.push(("model.fallback.provider", f.provider.as_str()));
        }
        for (field, provider) in providers {
            p.check(
                !allowed.0.iter().any(|a| a == provider),
                field,
                format!("{provider:?} is not allowed in this workspace"),
            );
        }
    }
    if let Some(allowed) = &row.allowed_models {
        let mut models = vec![("model.modelId", config.model.model_id.as_str())];
        if let Some(f) = &config.model.fallback {
            models.push(("model.fallback.modelId", f.model_id.as_str()));
        }
        for (field, model) in models {
            p.check(
                !allowed.0.iter().any(|a| a == model),
                field,
                format!("{model:?} is not allowed in this workspace"),
            );
        }
    }
    if let Some(profile) = &config.memory_profile_id
        && store.memory_profile(ws, profile).await?.is_none()
    {
        p.add(
            "memoryProfileId",
            "no such memory profile in this workspace",
        );
    }
    p.finish()
}
