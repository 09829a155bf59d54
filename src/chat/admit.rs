//! Admission of a turn, in the seed's middleware order — token budget, workspace, per-IP
//! rate, per-user rate — then agent resolution, restrictions, quotas, session, and the stored
//! user message. The result is a [`TurnPlan`] ready to run.

use std::net::IpAddr;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::{
    context::{DEFAULT_CONTEXT_TOKENS, estimate_tokens},
    input::ChatInput,
    limits::RateDecision,
    plan::TurnPlan,
    session::{self, ResetPolicy},
};
use crate::{
    agents::{AgentSource, PromptContext, render_system_prompt, resolve_agent},
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    http::extract::WorkspaceMember,
    memory,
    providers::Target,
    skills::effective_tools,
    store::{MessageRow, SessionKey, ids::new_id},
};

/// First instant of the next calendar month (UTC), when monthly budgets reset.
pub fn next_month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// Refuses the turn when the user's monthly tokens (plus this message) exceed the budget.
pub async fn check_budget(state: &AppState, user: &AuthUser, message: &str) -> ApiResult<()> {
    let budget = state.config.limits.user_tokens_per_month;
    if budget == 0 {
        return Ok(());
    }
    let now = Utc::now();
    let used = state
        .store
        .month_tokens(&user.id, &now.format("%Y-%m").to_string())
        .await?;
    if used.max(0) as u64 + estimate_tokens(message) > budget {
        return Err(ApiError::TokenBudgetExceeded {
            reset_at: next_month_start(now).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    Ok(())
}

/// Counts the request against the IP and user limiters; returns the tighter decision.
pub fn check_rates(
    state: &AppState,
    ip: IpAddr,
    user: &AuthUser,
) -> ApiResult<Option<RateDecision>> {
    let ip_decision = state.ip_limiter.check(&ip.to_string());
    if let Some(d) = ip_decision.filter(|d| !d.allowed) {
        return Err(ApiError::RateLimit {
            retry_after: d.reset_secs,
        });
    }
    let user_decision = state.user_limiter.check(&user.id);
    if let Some(d) = user_decision.filter(|d| !d.allowed) {
        return Err(ApiError::RateLimit {
            retry_after: d.reset_secs,
        });
    }
    Ok(match (ip_decision, user_decision) {
        (Some(a), Some(b)) => Some(if a.remaining < b.remaining { a } else { b }),
        (a, b) => a.or(b),
    })
}

/// Enforces `astra.yml quotas` for this agent in this workspace.
async fn check_quotas(
    state: &AppState,
    workspace_id: &str,
    agent_id: &str,
    message: &str,
) -> ApiResult<()> {
    let now = Utc::now();
    let estimate = estimate_tokens(message) as i64;
    for rule in state
        .config
        .quotas
        .iter()
        .filter(|r| r.applies(workspace_id, agent_id))
    {
        if let Some(limit) = rule.tokens_per_hour {
            let (tokens, _) = state
                .store
                .agent_usage_since(workspace_id, agent_id, now - Duration::hours(1))
                .await?;
            if tokens + estimate > limit as i64 {
                return Err(quota(
                    format!("Hourly token quota of agent {agent_id} is spent"),
                    3600,
                ));
            }
        }
        if rule.tokens_per_day.is_some() || rule.cost_per_day_usd.is_some() {
            let (tokens, cost) = state
                .store
                .agent_usage_since(workspace_id, agent_id, now - Duration::days(1))
                .await?;
            if rule
                .tokens_per_day
                .is_some_and(|l| tokens + estimate > l as i64)
            {
                return Err(quota(
                    format!("Daily token quota of agent {agent_id} is spent"),
                    86_400,
                ));
            }
            if rule.cost_per_day_usd.is_some_and(|l| cost >= l) {
                return Err(quota(
                    format!("Daily cost quota of agent {agent_id} is spent"),
                    86_400,
                ));
            }
        }
    }
    Ok(())
}

fn quota(message: String, retry_after: u64) -> ApiError {
    ApiError::QuotaExceeded {
        message,
        retry_after,
    }
}

/// Resolves agent and session, stores the user message, and returns the plan.
pub async fn plan_turn(
    state: &AppState,
    member: &WorkspaceMember,
    input: &ChatInput,
    request_id: Option<String>,
) -> ApiResult<TurnPlan> {
    if !member.role.can_run_agents() {
        return Err(ApiError::Forbidden("Viewers cannot run agents".into()));
    }
    let now = Utc::now();
    let agent = resolve_agent(
        &state.store,
        &state.global_agents,
        &member.workspace_id,
        &input.agent_id,
        now,
    )
    .await?;
    let cfg = &agent.config;
    let workspace = state
        .store
        .workspace_cached(&member.workspace_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let provider = cfg.model.provider.as_str();
    if let Some(allowed) = &workspace.allowed_providers
        && !allowed.0.iter().any(|p| p == provider)
    {
        return Err(ApiError::Forbidden(format!(
            "Provider {provider:?} is not allowed in this workspace"
        )));
    }
    if let Some(allowed) = &workspace.allowed_models
        && !allowed.0.iter().any(|m| m == &cfg.model.model_id)
    {
        return Err(ApiError::Forbidden(format!(
            "Model {:?} is not allowed in this workspace",
            cfg.model.model_id
        )));
    }
    check_quotas(state, &member.workspace_id, &input.agent_id, &input.message).await?;
    let user = state
        .store
        .user_cached(&member.user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("Unknown user".into()))?;
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
        crate::credentials::primary_target(&state.store, &state.cipher, owner_ws, &cfg.model)
            .await?;
    let profile = match &cfg.memory_profile_id {
        Some(id) => state.store.memory_profile(profile_ws, id).await?,
        None => None,
    };
    let suffix = profile
        .as_ref()
        .map(|p| p.system_prompt_suffix.clone())
        .unwrap_or_default();
    let key = SessionKey {
        user_id: &user.id,
        workspace_id: &member.workspace_id,
        agent_id: &input.agent_id,
        surface: input.surface.as_str(),
        surface_id: &input.surface_id,
    };
    let policy = ResetPolicy {
        idle_timeout_minutes: cfg.session.idle_timeout_minutes,
        daily_reset_hour: cfg.session.daily_reset_hour,
    };
    let (session, is_new) = session::resolve(&state.store, &key, policy, now).await?;
    let memory = memory::context_block(
        &state.store,
        memory::TurnMemory {
            owner: memory::Owner {
                user_id: &user.id,
                workspace_id: &member.workspace_id,
            },
            session_id: Some(&session.id),
            message: &input.message,
            profile: profile.as_ref(),
            now,
        },
    )
    .await;
    let mut system_prompt = render_system_prompt(
        &cfg.system_prompt_template,
        &PromptContext {
            now,
            user_email: user.email.clone(),
            user_id: user.id.clone(),
            agent_id: cfg.id.as_str().to_string(),
            agent_name: cfg.display_name.clone(),
            workspace_id: workspace.id.clone(),
            workspace_name: workspace.name.clone(),
            memory: memory.clone(),
            memory_profile: suffix.clone(),
        },
    );
    for skill in cfg.skills.iter().filter_map(|id| state.skills.get(id)) {
        if !skill.instructions.is_empty() {
            system_prompt.push_str("\n\n");
            system_prompt.push_str(&skill.instructions);
        }
    }
    if !memory.is_empty() && !cfg.system_prompt_template.contains("{{memory}}") {
        system_prompt.push_str("\n\n");
        system_prompt.push_str(&memory);
    }
    if !suffix.is_empty() && !cfg.system_prompt_template.contains("{{memory.profile}}") {
        system_prompt.push_str("\n\n");
        system_prompt.push_str(&suffix);
    }
    let tools = effective_tools(
        &cfg.tools.allow,
        &cfg.tools.deny,
        &cfg.skills,
        &state.skills,
        &state.tools,
    );
    // The user message is stored before inference, so a crash loses no input.
    let user_message = MessageRow {
        id: new_id("msg"),
        session_id: session.id.clone(),
        role: "user".into(),
        content: input.message.clone(),
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: now,
    };
    state
        .store
        .append_messages(&session.id, std::slice::from_ref(&user_message), now)
        .await?;
    let fallback = cfg
        .model
        .fallback
        .as_ref()
        .map(|f| Target::new(f.provider.as_str(), f.model_id.clone()))
        .or_else(|| {
            state
                .config
                .file
                .setting("fallbackProvider")
                .filter(|p| *p != provider)
                .map(|p| {
                    Target::new(
                        p,
                        state
                            .config
                            .file
                            .setting("fallbackModel")
                            .unwrap_or(&state.config.default_model),
                    )
                })
        });
    Ok(TurnPlan {
        request_id,
        trace_id: new_id("trc"),
        user_id: user.id,
        workspace_id: member.workspace_id.clone(),
        agent_id: input.agent_id.clone(),
        session,
        is_new_session: is_new,
        primary,
        fallback,
        system_prompt,
        tools,
        max_tool_rounds: cfg.max_tool_rounds,
        max_output_tokens: cfg.model.max_output_tokens,
        temperature: cfg.model.temperature as f32,
        context_tokens: cfg
            .model
            .max_context_tokens
            .unwrap_or(DEFAULT_CONTEXT_TOKENS),
        deadline: tokio::time::Instant::now() + state.config.limits.request_timeout,
        started_at: now,
    })
}
