//! Admission checks of a turn, in the seed's middleware order — token budget, (workspace,
//! resolved by the caller), per-IP rate, per-user rate — and the per-agent quotas checked
//! while planning (see [`super::turn`]).

use std::net::IpAddr;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::{context::estimate_tokens, limits::RateDecision, turn::TurnEnv};
use crate::{
    auth::AuthUser,
    error::{ApiError, ApiResult},
    store::{Reservation, WorkspaceRow},
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
pub async fn budget(env: &TurnEnv<'_>, user: &AuthUser, message: &str) -> ApiResult<()> {
    let budget = env.config.limits.user_tokens_per_month;
    if budget == 0 {
        return Ok(());
    }
    let now = Utc::now();
    // Spent plus what running turns reserved: concurrent turns see each other.
    let used = env
        .store
        .budgets()
        .committed(&user.id, &now.format("%Y-%m").to_string(), now)
        .await?;
    if used.max(0) as u64 + estimate_tokens(message) > budget {
        crate::observability::rate_limited("token_budget");
        return Err(budget_exceeded(now));
    }
    Ok(())
}

/// Margin past a turn's own deadline (the request timeout) after which it cannot be running.
const LAPSE_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);

/// When a turn started at `now` is over for sure, even if its process died: a reservation left
/// by a crashed process stops holding the budget then, and a `webhookUrl` reply whose turn was
/// never recorded is sent as lost.
pub(crate) fn turn_lapses_at(env: &TurnEnv<'_>, now: DateTime<Utc>) -> DateTime<Utc> {
    let ttl = env.config.limits.request_timeout + LAPSE_MARGIN;
    now + Duration::from_std(ttl).unwrap_or_else(|_| Duration::hours(1))
}

/// Reserves a turn's estimate — its message plus the agent's completion limit per call — in
/// one atomic step against the monthly budget (admitted by the same test as [`budget`]), so
/// concurrent turns of a user cannot all take the last of it: together they overshoot the
/// budget by at most one turn's estimate, plus whatever turns use beyond their estimates.
/// The reservation id goes on the plan; recording the turn removes it. `None` without a
/// budget.
pub(crate) async fn reserve_budget(
    env: &TurnEnv<'_>,
    user_id: &str,
    message: &str,
    max_output_tokens: u32,
) -> ApiResult<Option<String>> {
    let budget = env.config.limits.user_tokens_per_month;
    if budget == 0 {
        return Ok(None);
    }
    let now = Utc::now();
    let admit = estimate_tokens(message);
    let expires_at = turn_lapses_at(env, now);
    let id = crate::store::ids::new_id("tres");
    let month = now.format("%Y-%m").to_string();
    let reservation = Reservation {
        id: &id,
        user_id,
        month: &month,
        admit: i64::try_from(admit).unwrap_or(i64::MAX),
        hold: i64::try_from(admit + u64::from(max_output_tokens)).unwrap_or(i64::MAX),
        budget: i64::try_from(budget).unwrap_or(i64::MAX),
        now,
        expires_at,
    };
    if env.store.budgets().reserve(&reservation).await? {
        Ok(Some(id))
    } else {
        crate::observability::rate_limited("token_budget");
        Err(budget_exceeded(now))
    }
}

/// 429 `TOKEN_BUDGET_EXCEEDED`, resetting at the start of next month.
fn budget_exceeded(now: DateTime<Utc>) -> ApiError {
    ApiError::TokenBudgetExceeded {
        reset_at: next_month_start(now).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// Counts the request against the IP and user limiters; returns the tighter decision.
pub async fn check_rates(
    env: &TurnEnv<'_>,
    ip: IpAddr,
    user: &AuthUser,
) -> ApiResult<Option<RateDecision>> {
    let ip_decision = env.ip_limiter.check(&ip.to_string()).await;
    if let Some(d) = ip_decision.filter(|d| !d.allowed) {
        return Err(ApiError::RateLimit {
            retry_after: d.reset_secs,
        });
    }
    let user_decision = env.user_limiter.check(&user.id).await;
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
pub(super) async fn check_quotas(
    env: &TurnEnv<'_>,
    workspace_id: &str,
    agent_id: &str,
    message: &str,
) -> ApiResult<()> {
    let now = Utc::now();
    let estimate = estimate_tokens(message) as i64;
    for rule in env
        .config
        .quotas
        .iter()
        .filter(|r| r.applies(workspace_id, agent_id))
    {
        if let Some(limit) = rule.tokens_per_hour {
            let (tokens, _) = env
                .store
                .turns()
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
            let (tokens, cost) = env
                .store
                .turns()
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

/// Refuses a provider or model the workspace's restrictions (`allowedProviders`,
/// `allowedModels`) leave out.
pub(super) fn check_restrictions(
    workspace: &WorkspaceRow,
    provider: &str,
    model: &str,
) -> ApiResult<()> {
    if let Some(allowed) = &workspace.allowed_providers
        && !allowed.0.iter().any(|p| p == provider)
    {
        return Err(ApiError::Forbidden(format!(
            "Provider {provider:?} is not allowed in this workspace"
        )));
    }
    if let Some(allowed) = &workspace.allowed_models
        && !allowed.0.iter().any(|m| m == model)
    {
        return Err(ApiError::Forbidden(format!(
            "Model {model:?} is not allowed in this workspace"
        )));
    }
    Ok(())
}

fn quota(message: String, retry_after: u64) -> ApiError {
    crate::observability::rate_limited("quota");
    ApiError::QuotaExceeded {
        message,
        retry_after,
    }
}
