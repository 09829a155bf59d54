//! Agent operations behind the `/agents` routes: the workspace's own agents merged with the
//! global ones, workspace rules checked on every save.

use chrono::{DateTime, Utc};

use super::{
    AgentConfig, AgentConfigIn, GlobalAgents,
    catalog::check_catalog,
    stored::{decode, encode},
};
use crate::{
    error::{ApiError, ApiResult},
    skills::{EffectiveTool, SkillRegistry, effective_tools},
    store::{AgentRow, Store, is_unique_violation},
    tools::ToolRegistry,
    validate::Problems,
};

/// What agent operations need: the database, the global agents and the registries that
/// skill ids and tool names are checked against. The app builds it from its state
/// (`AgentEnv::from(&state)`, in `app.rs`).
#[derive(Clone, Copy)]
pub struct AgentEnv<'a> {
    /// Database.
    pub store: &'a Store,
    /// Global agents from `astra.yml`.
    pub globals: &'a GlobalAgents,
    /// Known skills.
    pub skills: &'a SkillRegistry,
    /// Known tools.
    pub tools: &'a ToolRegistry,
    /// Providers, for the endpoint and credential rules of `model`.
    pub providers: &'a crate::providers::ProviderRegistry,
    /// MCP servers, whose tools `capabilities` lists.
    pub mcp: &'a crate::mcp::McpHub,
}

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

impl TryFrom<AgentRow> for AgentView {
    type Error = ApiError;
    fn try_from(row: AgentRow) -> ApiResult<Self> {
        Ok(Self {
            config: decode(row.config)?,
            workspace_id: Some(row.workspace_id),
            version: row.version,
            global: false,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
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

/// The workspace's agents plus the global agents they do not shadow, by id. Agents granted
/// to the workspace are not listed (they belong to another workspace; chat resolves them
/// after own and global agents, see [`super::resolve_agent`]).
pub async fn list(env: &AgentEnv<'_>, ws: &str) -> ApiResult<Vec<AgentView>> {
    let own: Vec<AgentView> = env
        .store
        .agents()
        .agents_of(ws)
        .await?
        .into_iter()
        .map(AgentView::try_from)
        .collect::<ApiResult<_>>()?;
    let mut all: Vec<AgentView> = env
        .globals
        .all()
        .filter(|g| !own.iter().any(|a| a.config.id == g.id))
        .map(|g| AgentView::global(g, env.globals))
        .collect();
    all.extend(own);
    all.sort_by(|a, b| a.config.id.cmp(&b.config.id));
    Ok(all)
}

/// The workspace's agent, else the global one; another workspace's agent is 404.
pub async fn get(env: &AgentEnv<'_>, ws: &str, id: &str) -> ApiResult<AgentView> {
    if let Some(row) = env.store.agents().agent(ws, id).await? {
        return row.try_into();
    }
    env.globals
        .get(id)
        .map(|g| AgentView::global(g, env.globals))
        .ok_or_else(|| ApiError::not_found("Agent"))
}

/// An agent (as [`get`] finds it) with its effective tools: the allow list and the tools of
/// its skills, minus the deny list, each with the skill that brought it; then its MCP tools
/// (from the servers that can be reached now).
pub async fn capabilities(
    env: &AgentEnv<'_>,
    ws: &str,
    id: &str,
) -> ApiResult<(AgentView, Vec<EffectiveTool>)> {
    let view = get(env, ws, id).await?;
    let c = &view.config;
    let mut tools = effective_tools(
        &c.tools.allow,
        &c.tools.deny,
        &c.skills,
        env.skills,
        env.tools,
    );
    let mcp = env
        .mcp
        .effective_tools(ws, &c.tools.allow, &c.tools.deny, &c.skills)
        .await;
    for (offered, _) in mcp {
        if !tools.iter().any(|t| t.name == offered.name) {
            tools.push(offered);
        }
    }
    Ok((view, tools))
}

/// Creates a workspace agent (it may shadow a global one); a taken id is 409.
pub async fn create(
    env: &AgentEnv<'_>,
    ws: &str,
    actor: &str,
    input: AgentConfigIn,
) -> ApiResult<AgentView> {
    let config = input.validate(None)?;
    check_workspace_rules(env, ws, &config).await?;
    let now = super::stored_now();
    match env
        .store
        .agents()
        .insert_agent(ws, &encode(&config)?, actor, now)
        .await
    {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "An agent with id {:?} already exists in this workspace",
                config.id.as_str()
            )));
        }
        other => other?,
    }
    env.store
        .users()
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
    env: &AgentEnv<'_>,
    ws: &str,
    actor: &str,
    id: &str,
    input: AgentConfigIn,
) -> ApiResult<AgentView> {
    require_own(env, ws, id).await?;
    let config = input.validate(Some(id))?;
    save(env, ws, actor, &config, "agent.update").await
}

/// Checks the workspace rules and saves `config` as the agent's next version.
pub(super) async fn save(
    env: &AgentEnv<'_>,
    ws: &str,
    actor: &str,
    config: &AgentConfig,
    action: &str,
) -> ApiResult<AgentView> {
    check_workspace_rules(env, ws, config).await?;
    let row = env
        .store
        .agents()
        .update_agent(ws, &encode(config)?, actor, super::stored_now())
        .await?
        .ok_or_else(|| ApiError::not_found("Agent"))?;
    env.store
        .users()
        .audit(
            actor,
            Some(ws),
            action,
            Some(config.id.as_str()),
            serde_json::json!({"version": row.version}),
        )
        .await?;
    row.try_into()
}

/// Deletes a workspace agent and its history.
pub async fn delete(env: &AgentEnv<'_>, ws: &str, actor: &str, id: &str) -> ApiResult<()> {
    require_own(env, ws, id).await?;
    if !env.store.agents().delete_agent(ws, id).await? {
        return Err(ApiError::not_found("Agent"));
    }
    env.store
        .users()
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
pub(super) async fn require_own(env: &AgentEnv<'_>, ws: &str, id: &str) -> ApiResult<AgentRow> {
    match env.store.agents().agent(ws, id).await? {
        Some(row) => Ok(row),
        None if env.globals.get(id).is_some() => Err(global_is_readonly()),
        None => Err(ApiError::not_found("Agent")),
    }
}

/// Rules beyond the config's own shape: skills and tools must exist, the workspace's
/// provider/model restrictions apply, and the memory profile must be one of its own.
pub(super) async fn check_workspace_rules(
    env: &AgentEnv<'_>,
    ws: &str,
    config: &AgentConfig,
) -> ApiResult<()> {
    let row = env
        .store
        .workspaces()
        .workspace(ws)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let mut p = Problems::new();
    check_catalog(&mut p, config, env.skills, env.tools);
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
    for (field, problem) in
        crate::credentials::check_agent_model(env.store, env.providers, ws, &config.model).await?
    {
        p.add(field, problem);
    }
    if let Some(profile) = &config.memory_profile_id
        && env
            .store
            .memory_profiles()
            .memory_profile(ws, profile)
            .await?
            .is_none()
    {
        p.add(
            "memoryProfileId",
            "no such memory profile in this workspace",
        );
    }
    p.finish()
}
