//! Route group 8: `/costs*` — a workspace's spending per month, and a breakdown by provider,
//! model, agent and day over a date range. Periods are UTC calendar months and days.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use chrono::{Datelike, Duration, Months, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    extract::{ApiQuery, WorkspaceMember},
    validate::Problems,
};
use crate::{
    app::AppState,
    error::{ApiError, ApiResult},
    store::{Bucket, UsageTotals},
};

/// Routes of the costs group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(breakdown))
}

/// Longest date range of a breakdown, in days (a leap year).
const MAX_RANGE_DAYS: i64 = 366;

/// `GET /costs` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Calendar months back, including the current one: 1–24 (default 3).
    pub months: Option<i64>,
}

/// `GET /costs/breakdown` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownParams {
    /// Calendar months back, including the current one: 1–12 (default 1); not with dates.
    pub months: Option<i64>,
    /// First day, `YYYY-MM-DD` (with `endDate`).
    pub start_date: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD` (with `startDate`); at most 366 days after the first.
    pub end_date: Option<String>,
}

fn totals_json(t: &UsageTotals) -> Value {
    json!({
        "costUsd": t.cost_usd, "promptTokens": t.prompt_tokens,
        "completionTokens": t.completion_tokens,
        "totalTokens": t.prompt_tokens + t.completion_tokens, "requests": t.requests,
    })
}

/// Adds the key fields to a totals object.
fn keyed(key: Value, t: &UsageTotals) -> Value {
    let mut v = totals_json(t);
    if let (Some(obj), Some(keys)) = (v.as_object_mut(), key.as_object()) {
        for (k, val) in keys {
            obj.insert(k.clone(), val.clone());
        }
    }
    v
}

/// The first day of the month `months - 1` months before today's (UTC).
pub(crate) fn months_back(months: i64) -> NaiveDate {
    let today = Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let back = u32::try_from(months.saturating_sub(1)).unwrap_or(0);
    first.checked_sub_months(Months::new(back)).unwrap_or(first)
}

fn start_of(day: NaiveDate) -> chrono::DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// Workspace cost per calendar month, oldest first.
#[utoipa::path(get, path = "/costs", tag = "costs", params(SummaryParams, ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "{workspaceId, months, totalCostUsd, totalTokens, byMonth: [{month, costUsd, promptTokens, completionTokens, requests}]}"),
              (status = 400)))]
async fn summary(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> ApiResult<Json<Value>> {
    let months = params.months.unwrap_or(3);
    if !(1..=24).contains(&months) {
        return Err(ApiError::field("months", "must be 1-24"));
    }
    let from = months_back(months);
    let today = Utc::now().date_naive();
    let to = start_of(today + Duration::days(1));
    let rows = state
        .store
        .workspace_usage_by_period(&member.workspace_id, start_of(from), to, Bucket::Month)
        .await?;
    let found: BTreeMap<String, UsageTotals> =
        rows.into_iter().map(|r| (r.period, r.totals)).collect();
    let mut total = UsageTotals::default();
    let mut by_month = Vec::new();
    let mut month = from;
    while month <= today {
        let key = month.format("%Y-%m").to_string();
        let t = found.get(&key).cloned().unwrap_or_default();
        total.add(&t);
        by_month.push(keyed(json!({ "month": key }), &t));
        month = month
            .checked_add_months(Months::new(1))
            .unwrap_or(today + Duration::days(1));
    }
    Ok(Json(json!({
        "workspaceId": member.workspace_id,
        "months": months,
        "from": from.to_string(),
        "totalCostUsd": total.cost_usd,
        "totalTokens": total.prompt_tokens + total.completion_tokens,
        "promptTokens": total.prompt_tokens,
        "completionTokens": total.completion_tokens,
        "requests": total.requests,
        "byMonth": by_month,
    })))
}

/// Resolves the inclusive day range of a breakdown.
fn breakdown_range(p: &BreakdownParams) -> ApiResult<(NaiveDate, NaiveDate)> {
    let parse = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|_| s.len() == 10)
    };
    let mut problems = Problems::new();
    if p.start_date.is_none() && p.end_date.is_none() {
        let months = p.months.unwrap_or(1);
        problems.check(!(1..=12).contains(&months), "months", "must be 1-12");
        problems.finish()?;
        return Ok((months_back(months), Utc::now().date_naive()));
    }
    problems.check(
        p.months.is_some(),
        "months",
        "cannot be combined with startDate/endDate",
    );
    let start = p.start_date.as_deref().and_then(parse);
    let end = p.end_date.as_deref().and_then(parse);
    problems.check(start.is_none(), "startDate", "must be a date YYYY-MM-DD");
    problems.check(end.is_none(), "endDate", "must be a date YYYY-MM-DD");
    if let (Some(s), Some(e)) = (start, end) {
        problems.check(s > e, "endDate", "must not be before startDate");
        problems.check(
            (e - s).num_days() + 1 > MAX_RANGE_DAYS,
            "endDate",
            "range must be at most 366 days",
        );
    }
    problems.finish()?;
    match (start, end) {
        (Some(s), Some(e)) => Ok((s, e)),
        _ => Err(ApiError::field("startDate", "must be a date YYYY-MM-DD")),
    }
}

/// Workspace cost by provider, model, agent and day over a date range (inclusive).
#[utoipa::path(get, path = "/costs/breakdown", tag = "costs", params(BreakdownParams, ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, description = "{from, to, totalCostUsd, byProvider, byModel, byAgent, byDay}"), (status = 400)))]
async fn breakdown(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> ApiResult<Json<Value>> {
    let (from, to) = breakdown_range(&params)?;
    let groups = state
        .store
        .workspace_usage_groups(
            &member.workspace_id,
            start_of(from),
            start_of(to + Duration::days(1)),
        )
        .await?;
    let mut total = UsageTotals::default();
    let mut providers: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut models: BTreeMap<(String, String), UsageTotals> = BTreeMap::new();
    let mut agents: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut days: BTreeMap<String, UsageTotals> = BTreeMap::new();
    for g in &groups {
        total.add(&g.totals);
        providers
            .entry(g.provider.clone())
            .or_default()
            .add(&g.totals);
        models
            .entry((g.provider.clone(), g.model.clone()))
            .or_default()
            .add(&g.totals);
        agents.entry(g.agent_id.clone()).or_default().add(&g.totals);
        days.entry(g.day.clone()).or_default().add(&g.totals);
    }
    // Biggest spenders first; ties by name so the order is stable.
    let ranked = |mut v: Vec<(Value, UsageTotals)>| -> Vec<Value> {
        v.sort_by(|a, b| b.1.cost_usd.total_cmp(&a.1.cost_usd));
        v.into_iter().map(|(k, t)| keyed(k, &t)).collect()
    };
    let by_provider = ranked(
        providers
            .into_iter()
            .map(|(p, t)| (json!({ "provider": p }), t))
            .collect(),
    );
    let by_model = ranked(
        models
            .into_iter()
            .map(|((p, m), t)| (json!({ "provider": p, "model": m }), t))
            .collect(),
    );
    let by_agent = ranked(
        agents
            .into_iter()
            .map(|(a, t)| (json!({ "agentId": a }), t))
            .collect(),
    );
    let mut by_day = Vec::new();
    let mut day = from;
    while day <= to {
        let key = day.to_string();
        let t = days.get(&key).cloned().unwrap_or_default();
        by_day.push(keyed(json!({ "date": key }), &t));
        day += Duration::days(1);
    }
    Ok(Json(json!({
        "workspaceId": member.workspace_id,
        "from": from.to_string(),
        "to": to.to_string(),
        "totalCostUsd": total.cost_usd,
        "totalTokens": total.prompt_tokens + total.completion_tokens,
        "requests": total.requests,
        "byProvider": by_provider,
        "byModel": by_model,
        "byAgent": by_agent,
        "byDay": by_day,
    })))
}
