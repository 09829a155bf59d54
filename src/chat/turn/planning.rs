//! Planning a turn, one named step each: authorize, resolve the agent under the workspace's
//! restrictions, check quotas, find the caller, pick the model targets, open the session,
//! assemble memory, the system prompt and the tools, and store the user message.
//!
//! The order is the seed's and observable (which refusal wins, whether a session was made),
//! so [`plan_turn`] keeps it.

use chrono::{DateTime, Utc};

use super::TurnEnv;
use crate::{
    agents::{AgentConfig, AgentSource, PromptContext, ResolvedAgent, render_system_prompt},
    chat::{
        admit::{check_quotas, check_restrictions, reserve_budget, turn_lapses_at},
        context::DEFAULT_CONTEXT_TOKENS,
        input::ChatInput,
        plan::TurnPlan,
        reply_webhook::{self, ReplyTo},
        session::{self, ResetPolicy},
    },
    error::{ApiError, ApiResult},
    memory,
    providers::Target,
    skills::{EffectiveTool, effective_tools},
    store::{
        MemoryProfileRow, MessageRow, ReplyDeliveryRow, SessionKey, SessionRow, UserRow,
        WorkspaceRow, ids::new_id,
    },
    tools::ToolRegistry,
    workspaces::WorkspaceMember,
};

/// Who asks what, when: the parts of a turn most steps read.
#[derive(Clone, Copy)]
struct Ask<'a> {
    user: &'a UserRow,
    member: &'a WorkspaceMember,
    input: &'a ChatInput,
    now: DateTime<Utc>,
}

/// Resolves agent and session, stores the user message, and returns the plan.
pub(super) async fn plan_turn(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    input: &ChatInput,
    request_id: Option<String>,
) -> ApiResult<TurnPlan> {
    authorize(member)?;
    let now = Utc::now();
    let (agent, workspace) = resolve_agent(env, member, &input.agent_id, now).await?;
    check_quotas(env, &member.workspace_id, &input.agent_id, &input.message).await?;
    let max_output = agent.config.model.max_output_tokens;
    let reservation = reserve_budget(env, &member.user.id, &input.message, max_output).await?;
    let planned = plan_reserved(env, member, input, request_id, (agent, workspace), now).await;
    match (planned, reservation) {
        (Ok(plan), reservation) => Ok(TurnPlan {
            reservation,
            ..plan
        }),
        (Err(e), Some(id)) => {
            // The turn will not run: its reservation must not hold the budget until expiry.
            if let Err(release) = env.store.budgets().release(&id).await {
                tracing::warn!(error = %release, "could not release a budget reservation");
            }
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

/// The steps after the budget reservation.
async fn plan_reserved(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    input: &ChatInput,
    request_id: Option<String>,
    (agent, workspace): (ResolvedAgent, WorkspaceRow),
    now: DateTime<Utc>,
) -> ApiResult<TurnPlan> {
    let user = caller(env, member).await?;
    let ask = Ask {
        user: &user,
        member,
        input,
        now,
    };
    let cfg = &agent.config;
    let (primary, profile) = targets_and_profile(env, &agent, member).await?;
    let (session, is_new_session) = open_session(env, ask, cfg).await?;
    let memory = memory_context(env, ask, &session, profile.as_ref()).await;
    let suffix = profile.map(|p| p.system_prompt_suffix).unwrap_or_default();
    let mut system_prompt = system_prompt(env, ask, cfg, &workspace, memory, suffix);
    if let Some(extra) = &input.client.instructions {
        system_prompt.push_str("\n\n");
        system_prompt.push_str(extra);
    }
    let (tools, mcp_tools) = tools(env, cfg, &member.workspace_id).await;
    let reply_to = input.webhook_url.clone().map(ReplyTo::new);
    let awaiting = reply_to.as_ref().map(|to| {
        let deadline = turn_lapses_at(env, now);
        let owner = (user.id.as_str(), member.workspace_id.as_str());
        reply_webhook::awaiting_turn(to, owner, &session.id, now, deadline)
    });
    store_user_message(env, &session, &input.message, awaiting, now).await?;
    Ok(TurnPlan {
        request_id,
        trace_id: new_id("trc"),
        user_id: user.id,
        workspace_id: member.workspace_id.clone(),
        agent_id: input.agent_id.clone(),
        session,
        is_new_session,
        fallback: fallback_target(env, cfg),
        primary,
        system_prompt,
        tools,
        client_history: input.client.history.clone(),
        max_tool_rounds: cfg.max_tool_rounds,
        max_output_tokens: (input.client.max_output_tokens).unwrap_or(cfg.model.max_output_tokens),
        temperature: (input.client.temperature).unwrap_or(cfg.model.temperature as f32),
        context_tokens: cfg
            .model
            .max_context_tokens
            .unwrap_or(DEFAULT_CONTEXT_TOKENS),
        deadline: tokio::time::Instant::now() + env.config.limits.request_timeout,
        started_at: now,
        reservation: None,
        mcp_tools,
        reply_to,
    })
}

/// Viewers read; everyone else may run agents.
fn authorize(member: &WorkspaceMember) -> ApiResult<()> {
    if member.role.can_run_agents() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Viewers cannot run agents".into()))
    }
}

/// The agent (own, global or granted) and the workspace, refused when the workspace does not
/// allow the agent's provider or model.
async fn resolve_agent(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    agent_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<(ResolvedAgent, WorkspaceRow)> {
    let ws = &member.workspace_id;
    let agent = crate::agents::resolve_agent(env.store, env.globals, ws, agent_id, now).await?;
    let workspace = env
        .store
        .workspaces()
        .workspace_cached(ws)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let model = &agent.config.model;
    check_restrictions(&workspace, model.provider.as_str(), &model.model_id)?;
    Ok((agent, workspace))
}

/// The calling user's row (401 when the account is gone).
async fn caller(env: &TurnEnv<'_>, member: &WorkspaceMember) -> ApiResult<UserRow> {
    env.store
        .users()
        .user_cached(&member.user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("Unknown user".into()))
}

/// The primary model target (with the credential of the agent's own workspace) and the
/// agent's memory profile.
async fn targets_and_profile(
    env: &TurnEnv<'_>,
    agent: &ResolvedAgent,
    member: &WorkspaceMember,
) -> ApiResult<(Target, Option<MemoryProfileRow>)> {
    let cfg = &agent.config;
    // The memory profile lives in the workspace that owns the agent.
    let profile_ws = match &agent.source {
        AgentSource::Granted { from_workspace, .. } => from_workspace.as_str(),
        _ => member.workspace_id.as_str(),
    };
    // The agent's own workspace holds its credential (the granting one for a granted agent);
    // the provider registry enforces again that the operator's key never leaves the
    // endpoints the operator allowed.
    let owner_ws = match &agent.source {
        AgentSource::Global => None,
        _ => Some(profile_ws),
    };
    let primary =
        crate::credentials::primary_target(env.store, env.cipher, owner_ws, &cfg.model).await?;
    let profile = match &cfg.memory_profile_id {
        Some(id) => {
            env.store
                .memory_profiles()
                .memory_profile(profile_ws, id)
                .await?
        }
        None => None,
    };
    Ok((primary, profile))
}

/// The active session of user + agent + surface, or a new one when there is none or the
/// agent's reset policy says it is stale; true when new.
async fn open_session(
    env: &TurnEnv<'_>,
    ask: Ask<'_>,
    cfg: &AgentConfig,
) -> ApiResult<(SessionRow, bool)> {
    let key = SessionKey {
        user_id: &ask.user.id,
        workspace_id: &ask.member.workspace_id,
        agent_id: &ask.input.agent_id,
        surface: ask.input.surface.as_str(),
        surface_id: &ask.input.surface_id,
    };
    let policy = ResetPolicy {
        idle_timeout_minutes: cfg.session.idle_timeout_minutes,
        daily_reset_hour: cfg.session.daily_reset_hour,
    };
    Ok(session::resolve(env.store, &key, policy, ask.now).await?)
}

/// The memory block for this message (empty when memory is unavailable).
async fn memory_context(
    env: &TurnEnv<'_>,
    ask: Ask<'_>,
    session: &SessionRow,
    profile: Option<&MemoryProfileRow>,
) -> String {
    let embedders = memory::embed::Embedders::new(
        &env.config.memory,
        Some((env.providers.clone(), env.pricing.clone())),
    );
    let turn = memory::TurnMemory {
        owner: memory::Owner {
            user_id: &ask.user.id,
            workspace_id: &ask.member.workspace_id,
        },
        session_id: Some(&session.id),
        message: &ask.input.message,
        profile,
        now: ask.now,
        embedders: Some(&embedders),
    };
    memory::context_block(env.store, turn).await
}

/// The rendered template, then skill instructions, then memory and the profile suffix unless
/// the template placed them itself.
fn system_prompt(
    env: &TurnEnv<'_>,
    ask: Ask<'_>,
    cfg: &AgentConfig,
    workspace: &WorkspaceRow,
    memory: String,
    suffix: String,
) -> String {
    let context = PromptContext {
        now: ask.now,
        user_email: ask.user.email.clone(),
        user_id: ask.user.id.clone(),
        agent_id: cfg.id.as_str().to_string(),
        agent_name: cfg.display_name.clone(),
        workspace_id: workspace.id.clone(),
        workspace_name: workspace.name.clone(),
        memory: memory.clone(),
        memory_profile: suffix.clone(),
    };
    let mut prompt = render_system_prompt(&cfg.system_prompt_template, &context);
    let skills = cfg.skills.iter().filter_map(|id| env.skills.get(id));
    let instructions = skills.map(|s| s.instructions.as_str());
    let template = &cfg.system_prompt_template;
    let extras = instructions
        .chain((!template.contains("{{memory}}")).then_some(memory.as_str()))
        .chain((!template.contains("{{memory.profile}}")).then_some(suffix.as_str()));
    for extra in extras.filter(|e| !e.is_empty()) {
        prompt.push_str("\n\n");
        prompt.push_str(extra);
    }
    prompt
}

/// The tools offered to the model: the agent's allow list and its skills' tools, minus the
/// deny list; then its MCP tools (named in the allow list or brought by `mcp:<server>`
/// skills), which the turn also gets as a registry to dispatch to.
async fn tools(
    env: &TurnEnv<'_>,
    cfg: &AgentConfig,
    workspace_id: &str,
) -> (Vec<EffectiveTool>, ToolRegistry) {
    let t = &cfg.tools;
    let mut tools = effective_tools(&t.allow, &t.deny, &cfg.skills, env.skills, env.tools);
    let mcp = env
        .mcp
        .effective_tools(workspace_id, &t.allow, &t.deny, &cfg.skills)
        .await;
    let mut registry = ToolRegistry::new();
    for (offered, tool) in mcp {
        if !tools.iter().any(|e| e.name == offered.name) {
            tools.push(offered);
            registry.register(tool);
        }
    }
    (tools, registry)
}

/// Stores the user message before inference, so a crash loses no input; with the placeholder
/// of its `webhookUrl` reply when it has one, so a crash loses no answer either.
async fn store_user_message(
    env: &TurnEnv<'_>,
    session: &SessionRow,
    message: &str,
    awaiting_reply: Option<ReplyDeliveryRow>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let row = MessageRow {
        id: new_id("msg"),
        session_id: session.id.clone(),
        role: "user".into(),
        content: message.to_string(),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: now,
    };
    // Through the group commit: it shares a transaction with other turns' writes.
    (env.store.turns())
        .record_user_message(row, awaiting_reply, now)
        .await?;
    Ok(())
}

/// The agent's fallback model, else the gateway's `fallbackProvider` (unless it is the
/// primary provider) with `fallbackModel` or the default model.
fn fallback_target(env: &TurnEnv<'_>, cfg: &AgentConfig) -> Option<Target> {
    if let Some(f) = &cfg.model.fallback {
        return Some(Target::new(f.provider.as_str(), f.model_id.clone()));
    }
    let settings = &env.config.file;
    let provider = settings
        .setting("fallbackProvider")
        .filter(|p| *p != cfg.model.provider.as_str())?;
    let model = settings
        .setting("fallbackModel")
        .unwrap_or(&env.config.default_model);
    Some(Target::new(provider, model))
}
