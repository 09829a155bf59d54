//! Route group 16: `/admin/*` — operational visibility: process health, every agent, a user's
//! monthly billing, active sessions and audit trail. Internal API key.

use std::{collections::BTreeMap, sync::atomic::Ordering, time::Instant};

use axum::{Json, extract::State};
use chrono::Utc;
use serde_json::{Value, json};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    costs::months_back,
    extract::{ApiPath, ApiQuery, InternalKey, PageParams, page_body},
    sessions::session_json,
};
use crate::{
    agents::AgentView,
    app::AppState,
    diagnostics::process,
    error::{ApiError, ApiResult},
    http::agents::AgentOut,
    store::{SessionFilter, UsageTotals, UserRow},
};

/// Routes of the admin group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(agents))
        .routes(routes!(usage))
        .routes(routes!(sessions))
        .routes(routes!(audit))
}

/// Months of billing history `/admin/usage/:uid` reports.
const USAGE_MONTHS: i64 = 24;
/// Audit entries `/admin/audit/:uid` returns.
const AUDIT_ENTRIES: i64 = 50;

async fn user(state: &AppState, uid: &str) -> ApiResult<UserRow> {
    state
        .store
        .user_by_id(uid)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Process memory, uptime, active sessions, busy agents, tools and skills, database.
#[utoipa::path(get, path = "/admin/health", tag = "admin", security(("apiKey" = [])),
    responses((status = 200, description = "{status, uptimeSeconds, memory, activeSessions, busyAgents, tools, skills, database}"), (status = 401)))]
async fn health(State(state): State<AppState>, _key: InternalKey) -> Json<Value> {
    let started = Instant::now();
    let db_ok = state.store.ping().await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    // A dead database is reported, not raised: this route must answer when things are bad.
    let active_sessions = if db_ok {
        state.store.active_session_count().await.ok()
    } else {
        None
    };
    Json(json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": state.started_at.elapsed().as_secs(),
        "memory": process::memory(),
        "activeSessions": active_sessions,
        "busyAgents": state.presence.busy_count(),
        "openStreams": state.open_streams.load(Ordering::Relaxed),
        "tools": state.tools.list().len(),
        "skills": state.skills.list().len(),
        "globalAgents": state.global_agents.len(),
        "database": { "engine": state.store.engine(), "ok": db_ok, "latencyMs": latency_ms },
        "timestamp": Utc::now(),
    }))
}

/// Every agent: the global ones (from `astra.yml`) first, then each workspace's.
#[utoipa::path(get, path = "/admin/agents", tag = "admin", params(PageParams), security(("apiKey" = [])),
    responses((status = 200, description = "{items, total, limit, offset}"), (status = 401)))]
async fn agents(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let page = params.resolve(100)?;
    let mut globals: Vec<AgentView> = state
        .global_agents
        .all()
        .map(|g| AgentView::global(g, &state.global_agents))
        .collect();
    globals.sort_by(|a, b| a.config.id.cmp(&b.config.id));
    let g = i64::try_from(globals.len()).unwrap_or(i64::MAX);
    let mut items: Vec<Value> = globals
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|v| to_value(AgentOut::from(v)))
        .collect();
    let remaining = page.limit - i64::try_from(items.len()).unwrap_or(0);
    let (rows, stored) = state
        .store
        .all_workspace_agents(remaining, (page.offset - g).max(0))
        .await?;
    let views = rows.into_iter().map(AgentView::try_from);
    let views = views.collect::<ApiResult<Vec<_>>>()?;
    items.extend(views.into_iter().map(|v| to_value(AgentOut::from(v))));
    Ok(Json(page_body(items, g + stored, page)))
}

/// A user's monthly billing, current month first: tokens counted against the monthly
/// budget, and tokens, requests and cost from the usage records.
#[utoipa::path(get, path = "/admin/usage/{uid}", tag = "admin", params(("uid" = String, Path)),
    security(("apiKey" = [])),
    responses((status = 200, description = "{uid, email, monthlyTokenBudget, months: [{month, tokens, promptTokens, completionTokens, totalTokens, costUsd, requests}]}"),
              (status = 401), (status = 404)))]
async fn usage(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let user = user(&state, &uid).await?;
    let from = months_back(USAGE_MONTHS);
    let records = state
        .store
        .user_usage_by_month(
            &uid,
            from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        )
        .await?;
    let counters = state
        .store
        .user_month_tokens(&uid, &from.format("%Y-%m").to_string())
        .await?;
    let current = Utc::now().format("%Y-%m").to_string();
    let mut months: BTreeMap<String, (i64, UsageTotals)> = BTreeMap::new();
    months.insert(current, (0, UsageTotals::default()));
    for r in records {
        months.entry(r.period).or_default().1 = r.totals;
    }
    for (month, tokens) in counters {
        months.entry(month).or_default().0 = tokens;
    }
    let items: Vec<Value> = months
        .into_iter()
        .rev()
        .map(|(month, (tokens, t))| {
            json!({
                "month": month, "tokens": tokens, "promptTokens": t.prompt_tokens,
                "completionTokens": t.completion_tokens,
                "totalTokens": t.prompt_tokens + t.completion_tokens,
                "costUsd": t.cost_usd, "requests": t.requests,
            })
        })
        .collect();
    let budget = state.config.limits.user_tokens_per_month;
    Ok(Json(json!({
        "uid": user.id,
        "email": user.email,
        "monthlyTokenBudget": (budget > 0).then_some(budget),
        "months": items,
    })))
}

/// A user's active sessions, newest activity first.
#[utoipa::path(get, path = "/admin/sessions/{uid}", tag = "admin", params(("uid" = String, Path), PageParams),
    security(("apiKey" = [])), responses((status = 200, description = "{uid, items, total, limit, offset}"), (status = 401), (status = 404)))]
async fn sessions(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Value>> {
    let page = params.resolve(100)?;
    let user = user(&state, &uid).await?;
    let filter = SessionFilter {
        user_id: &user.id,
        workspace_id: None,
        status: Some("active"),
    };
    let (rows, total) = state
        .store
        .list_sessions(&filter, page.limit, page.offset)
        .await?;
    let mut body = page_body(rows.into_iter().map(session_json).collect(), total, page);
    body["uid"] = Value::String(user.id);
    Ok(Json(body))
}

/// A user's last 50 audit entries, newest first.
#[utoipa::path(get, path = "/admin/audit/{uid}", tag = "admin", params(("uid" = String, Path)),
    security(("apiKey" = [])),
    responses((status = 200, description = "{uid, items: [{id, action, workspaceId, target, details, createdAt}]}"), (status = 401), (status = 404)))]
async fn audit(
    State(state): State<AppState>,
    _key: InternalKey,
    ApiPath(uid): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    let user = user(&state, &uid).await?;
    let items: Vec<Value> = state
        .store
        .audit_entries(&user.id, AUDIT_ENTRIES)
        .await?
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id, "action": a.action, "workspaceId": a.workspace_id,
                "target": a.target, "details": a.details.0, "createdAt": a.created_at,
            })
        })
        .collect();
    Ok(Json(json!({ "uid": user.id, "items": items })))
}
