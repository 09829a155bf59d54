//! The one turn API: every way of running an agent turn — `/agent/chat`,
//! `/agent/chat/stream`, `/autonomous/run|batch` and the `agent_run` job — goes through it.
//!
//! A turn is admitted ([`check_budget`], [`check_rates`]), planned ([`plan`]: authorization,
//! agent, restrictions, quotas, session, memory, prompt, tools, the stored user message),
//! started ([`start`]: the loop runs on the task tracker and records itself), and then
//! consumed in one of three ways: folded into the JSON reply ([`RunningTurn::reply`]),
//! streamed event by event ([`RunningTurn::into_events`]), or delivered to the caller's
//! `webhookUrl` ([`RunningTurn::detach`]: the turn's recording queues the reply as an outbox
//! delivery). [`run`] is plan + start + reply.
//!
//! Callers keep only what is theirs: the HTTP layer parses, frames SSE, handles idempotency
//! and rate headers and maps a [`TurnResult`] to a status; jobs build the member and input.

mod planning;
mod running;

use std::{net::IpAddr, sync::Arc};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use running::{RunningTurn, TurnFailure, TurnResult};

use super::{
    admit,
    input::ChatInput,
    limits::{RateDecision, RateLimiter},
    plan::TurnPlan,
    presence::Presence,
    runtime::TurnRuntime,
    tool_cache::ToolCache,
};
use crate::{
    agents::GlobalAgents,
    auth::AuthUser,
    config::Config,
    credentials::CredentialCipher,
    error::{ApiError, ApiResult},
    providers::{Pricing, ProviderRegistry},
    skills::SkillRegistry,
    store::Store,
    tools::ToolRegistry,
    workspaces::{Role, WorkspaceMember},
};

/// What admitting and planning a turn read — the database, configuration, agent catalogue,
/// credential cipher and the chat rate limiters — and the handles a started turn keeps
/// ([`super::runtime::TurnRuntime`]: providers, prices, tool cache, presence, task tracker).
/// The app builds it from its state (`TurnEnv::from(&state)`, in `app.rs`).
#[derive(Clone, Copy)]
pub struct TurnEnv<'a> {
    /// Database.
    pub store: &'a Store,
    /// Limits, quotas, fallback settings and the turn timeout.
    pub config: &'a Config,
    /// Global agents from `astra.yml`.
    pub globals: &'a GlobalAgents,
    /// Skills (instructions and tools an agent brings).
    pub skills: &'a SkillRegistry,
    /// Tools agents may call.
    pub tools: &'a Arc<ToolRegistry>,
    /// Opens workspace provider credentials.
    pub cipher: &'a CredentialCipher,
    /// Chat requests per client IP.
    pub ip_limiter: &'a RateLimiter,
    /// Chat requests per user.
    pub user_limiter: &'a RateLimiter,
    /// LLM provider clients and breakers.
    pub providers: &'a Arc<ProviderRegistry>,
    /// Price table.
    pub pricing: &'a Arc<Pricing>,
    /// Results of cacheable tools.
    pub tool_cache: &'a Arc<ToolCache>,
    /// Live agent states per user.
    pub presence: &'a Arc<Presence>,
    /// Background tasks; a started turn runs on it.
    pub tasks: &'a TaskTracker,
    /// Turns in flight; shutdown gives them `ASTRA_SHUTDOWN_GRACE` before cutting them.
    pub in_flight: &'a TaskTracker,
    /// Cancelled when running turns must stop (shutdown, after the grace).
    pub shutdown: &'a CancellationToken,
    /// Sends finished turns to an OTLP collector (inert without an endpoint).
    pub otlp: &'a Arc<crate::traces::export::Exporter>,
    /// MCP servers whose tools agents may call.
    pub mcp: &'a Arc<crate::mcp::McpHub>,
}

/// Refuses the turn when the user's monthly tokens (plus `message`) exceed the budget.
pub async fn check_budget(env: &TurnEnv<'_>, user: &AuthUser, message: &str) -> ApiResult<()> {
    admit::budget(env, user, message).await
}

/// Counts the request against the IP and user limiters; returns the tighter decision (for
/// the `RateLimit` headers), or 429 when either is spent.
pub async fn check_rates(
    env: &TurnEnv<'_>,
    ip: IpAddr,
    user: &AuthUser,
) -> ApiResult<Option<RateDecision>> {
    admit::check_rates(env, ip, user).await
}

/// Resolves agent and session, stores the user message, and returns the plan.
pub async fn plan(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    input: &ChatInput,
    request_id: Option<String>,
) -> ApiResult<TurnPlan> {
    planning::plan_turn(env, member, input, request_id).await
}

/// Starts a planned turn on the task tracker; see [`RunningTurn`] for how to consume it.
pub fn start(env: &TurnEnv<'_>, mut plan: TurnPlan) -> RunningTurn {
    let mut rt = TurnRuntime::from(env);
    // The turn's MCP tools join the registry it dispatches from, for this turn only.
    let mcp_tools = std::mem::take(&mut plan.mcp_tools).list();
    if !mcp_tools.is_empty() {
        let mut tools = (*rt.tools).clone();
        for tool in mcp_tools {
            tools.register(tool);
        }
        rt.tools = Arc::new(tools);
    }
    RunningTurn::spawn(rt, plan)
}

/// Plans, starts and folds a turn: the reply (or the failed turn's status and body), or the
/// error that refused it before it started. Dropping the future cancels the turn.
pub async fn run(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    input: &ChatInput,
    request_id: Option<String>,
) -> ApiResult<TurnResult> {
    let plan = plan(env, member, input, request_id).await?;
    Ok(start(env, plan).reply().await)
}

/// The member a turn on behalf of `user_id` runs as (autonomous runs, which name the user
/// instead of authenticating as them): in `workspace_id` when given (403 unless a member),
/// else the user's oldest workspace (409 without one).
pub async fn member_for(
    env: &TurnEnv<'_>,
    user: AuthUser,
    workspace_id: Option<&str>,
) -> ApiResult<WorkspaceMember> {
    let (workspace_id, role) = match workspace_id {
        Some(ws) => {
            let role = env
                .store
                .workspaces()
                .member_role(ws, &user.id)
                .await?
                .ok_or_else(|| {
                    ApiError::Forbidden("The user is not a member of this workspace".into())
                })?;
            (ws.to_string(), role)
        }
        None => env
            .store
            .workspaces()
            .first_workspace_of(&user.id)
            .await?
            .ok_or_else(|| ApiError::Conflict("The user has no workspace".into()))?,
    };
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored role {role:?}")))?;
    Ok(WorkspaceMember {
        user,
        workspace_id,
        role,
    })
}
