//! Route group 8: `/costs*` — a workspace's spending per month, and a breakdown by provider,
//! model, agent and day over a date range. Periods are UTC calendar months and days.

mod dto;

pub use dto::{
    AgentCostOut, CostBreakdownOut, CostSummaryOut, CostTotalsOut, DayCostOut, ModelCostOut,
    MonthCostOut, ProviderCostOut,
};

use axum::{Json, extract::State};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    error_schema::ErrorOut,
    extract::{ApiQuery, WorkspaceMember},
    validate::Problems,
};
use crate::{
    app::AppState,
    costs::{self, months_back},
    error::{ApiError, ApiResult},
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

/// Workspace cost per calendar month, oldest first.
#[utoipa::path(get, path = "/costs", tag = "costs", params(SummaryParams, ("X-Workspace-Id" = Option<String>, Header)),
    security(("bearer" = [])),
    responses((status = 200, body = CostSummaryOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn summary(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> ApiResult<Json<CostSummaryOut>> {
    let months = params.months.unwrap_or(3);
    if !(1..=24).contains(&months) {
        return Err(ApiError::field("months", "must be 1-24"));
    }
    let summary = costs::summary(&state.store, &member.workspace_id, months).await?;
    Ok(Json(CostSummaryOut::new(
        member.workspace_id,
        months,
        summary,
    )))
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
    responses((status = 200, body = CostBreakdownOut), (status = 400, body = ErrorOut),
        (status = 401, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn breakdown(
    State(state): State<AppState>,
    member: WorkspaceMember,
    ApiQuery(params): ApiQuery<BreakdownParams>,
) -> ApiResult<Json<CostBreakdownOut>> {
    let (from, to) = breakdown_range(&params)?;
    let b = costs::breakdown(&state.store, &member.workspace_id, from, to).await?;
    Ok(Json(CostBreakdownOut::new(
        member.workspace_id,
        from.to_string(),
        to.to_string(),
        b,
    )))
}
