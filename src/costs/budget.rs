//! A user's monthly token budget burn-down: what the budget counter holds this month, what
//! running turns reserve, and the usage records of every day of the month so far, with their
//! running total. Behind `GET /users/me/usage`.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};

use super::start_of;
use crate::store::{Store, UsageTotals};

/// One day of the month: the usage records' totals and the month's running token total.
#[derive(Debug, Clone)]
pub struct BudgetDay {
    /// `YYYY-MM-DD` (UTC).
    pub date: NaiveDate,
    /// Usage of that day, in every workspace.
    pub totals: UsageTotals,
    /// Prompt + completion tokens from the 1st of the month to the end of that day.
    pub cumulative_tokens: i64,
}

/// The current calendar month (UTC) of one user's token budget.
#[derive(Debug, Clone)]
pub struct MonthBurn {
    /// `YYYY-MM`.
    pub month: String,
    /// Tokens counted against the monthly budget (the counter the budget check reads).
    pub spent: i64,
    /// Tokens held right now by turns still running.
    pub reserved: i64,
    /// Every day from the 1st to today, in order; days without usage are zero.
    pub days: Vec<BudgetDay>,
}

/// The burn-down of `user_id`'s current month.
pub async fn month_burn(store: &Store, user_id: &str) -> Result<MonthBurn, sqlx::Error> {
    let now = Utc::now();
    let today = now.date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let month = first.format("%Y-%m").to_string();
    let spent = store.turns().month_tokens(user_id, &month).await?;
    let committed = store.budgets().committed(user_id, &month, now).await?;
    let rows = store
        .costs()
        .user_usage_by_day(
            user_id,
            start_of(first),
            start_of(today + Duration::days(1)),
        )
        .await?;
    let found: BTreeMap<String, UsageTotals> =
        rows.into_iter().map(|r| (r.period, r.totals)).collect();
    let mut days = Vec::new();
    let mut cumulative = 0i64;
    let mut day = first;
    while day <= today {
        let totals = found.get(&day.to_string()).cloned().unwrap_or_default();
        cumulative = cumulative.saturating_add(totals.prompt_tokens + totals.completion_tokens);
        days.push(BudgetDay {
            date: day,
            totals,
            cumulative_tokens: cumulative,
        });
        day += Duration::days(1);
    }
    Ok(MonthBurn {
        month,
        spent,
        reserved: committed.saturating_sub(spent).max(0),
        days,
    })
}
