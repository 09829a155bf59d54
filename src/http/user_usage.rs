//! `GET /users/me/usage` — the caller's monthly token budget this month: the budget, what is
//! counted against it, what running turns hold, and a burn-down per day (every workspace).

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error_schema::ErrorOut;
use crate::{
    app::AppState,
    auth::AuthUser,
    costs::{self, BudgetDay, MonthBurn},
    error::ApiResult,
};

/// Routes of the caller's own usage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_usage))
}

/// One day of the month.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetDayOut {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Prompt + completion tokens of the day's usage records.
    pub tokens: i64,
    /// Inference calls of the day.
    pub requests: i64,
    /// Cost of the day in USD.
    pub cost_usd: f64,
    /// Tokens from the 1st of the month to the end of this day.
    pub cumulative_tokens: i64,
}

impl From<BudgetDay> for BudgetDayOut {
    fn from(d: BudgetDay) -> Self {
        Self {
            date: d.date.to_string(),
            tokens: d.totals.prompt_tokens + d.totals.completion_tokens,
            requests: d.totals.requests,
            cost_usd: d.totals.cost_usd,
            cumulative_tokens: d.cumulative_tokens,
        }
    }
}

/// `GET /users/me/usage`: the current calendar month (UTC) of the caller's token budget.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MyUsageOut {
    /// The caller.
    pub user_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Tokens per calendar month (`null` = unlimited).
    pub monthly_token_budget: Option<u64>,
    /// Tokens counted against the budget this month (what the budget check reads).
    pub monthly_tokens_used: i64,
    /// Tokens held by turns still running (counted by the check too).
    pub monthly_tokens_reserved: i64,
    /// Budget left after used and reserved tokens, never below 0 (`null` = unlimited).
    pub monthly_tokens_remaining: Option<i64>,
    /// Every day from the 1st to today, in order, from the usage records.
    pub by_day: Vec<BudgetDayOut>,
}

impl MyUsageOut {
    fn new(user_id: String, budget: u64, burn: MonthBurn) -> Self {
        let budget = (budget > 0).then_some(budget);
        let remaining = budget.map(|b| {
            i64::try_from(b)
                .unwrap_or(i64::MAX)
                .saturating_sub(burn.spent)
                .saturating_sub(burn.reserved)
                .max(0)
        });
        Self {
            user_id,
            month: burn.month,
            monthly_token_budget: budget,
            monthly_tokens_used: burn.spent,
            monthly_tokens_reserved: burn.reserved,
            monthly_tokens_remaining: remaining,
            by_day: burn.days.into_iter().map(BudgetDayOut::from).collect(),
        }
    }
}

/// Your monthly token budget this month: used, reserved, remaining, and a day-by-day
/// burn-down.
#[utoipa::path(get, path = "/users/me/usage", tag = "costs", security(("bearer" = [])),
    responses((status = 200, body = MyUsageOut), (status = 401, body = ErrorOut)))]
async fn my_usage(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<MyUsageOut>> {
    let burn = costs::month_burn(&state.store, &user.id).await?;
    Ok(Json(MyUsageOut::new(
        user.id,
        state.config.limits.user_tokens_per_month,
        burn,
    )))
}
