//! Cost reports behind `/costs*` and `/admin/usage`: usage records summed per calendar month,
//! per provider, model, agent and day, and a user's monthly billing. Periods are UTC.

mod budget;

pub use budget::{BudgetDay, MonthBurn, month_burn};

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use crate::store::{Bucket, Store, UsageTotals};

/// The first day of the month `months - 1` months before today's (UTC).
pub fn months_back(months: i64) -> NaiveDate {
    let today = Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let back = u32::try_from(months.saturating_sub(1)).unwrap_or(0);
    first.checked_sub_months(Months::new(back)).unwrap_or(first)
}

/// Midnight (UTC) at the start of `day`.
pub fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// A workspace's spending per calendar month.
#[derive(Debug, Clone)]
pub struct CostSummary {
    /// First day of the first month.
    pub from: NaiveDate,
    /// Sum over every month.
    pub total: UsageTotals,
    /// `YYYY-MM` and its totals, oldest first; months without usage are zero.
    pub by_month: Vec<(String, UsageTotals)>,
}

/// Spending per (provider, model), biggest spender first.
pub type ModelSpend = Vec<((String, String), UsageTotals)>;

/// A workspace's spending over a day range, broken down four ways.
#[derive(Debug, Clone, Default)]
pub struct CostBreakdown {
    /// Sum over the range.
    pub total: UsageTotals,
    /// Per provider, biggest spender first.
    pub by_provider: Vec<(String, UsageTotals)>,
    /// Per (provider, model), biggest spender first.
    pub by_model: ModelSpend,
    /// Per agent, biggest spender first.
    pub by_agent: Vec<(String, UsageTotals)>,
    /// Per `YYYY-MM-DD`, every day of the range in order; days without usage are zero.
    pub by_day: Vec<(String, UsageTotals)>,
    /// Per `YYYY-MM-DD` with usage: its (provider, model) split, biggest spender first (what a
    /// chart stacks each day's bar by).
    pub by_day_model: BTreeMap<String, ModelSpend>,
}

/// Spending of the last `months` calendar months (the current one included).
pub async fn summary(
    store: &Store,
    workspace_id: &str,
    months: i64,
) -> Result<CostSummary, sqlx::Error> {
    let from = months_back(months);
    let today = Utc::now().date_naive();
    let to = start_of(today + Duration::days(1));
    let rows = store
        .costs()
        .workspace_usage_by_period(workspace_id, start_of(from), to, Bucket::Month)
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
        by_month.push((key, t));
        month = month
            .checked_add_months(Months::new(1))
            .unwrap_or(today + Duration::days(1));
    }
    Ok(CostSummary {
        from,
        total,
        by_month,
    })
}

/// Biggest spenders first; the map's key order breaks ties, so the order is stable.
fn ranked<K>(map: BTreeMap<K, UsageTotals>) -> Vec<(K, UsageTotals)> {
    let mut v: Vec<(K, UsageTotals)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cost_usd.total_cmp(&a.1.cost_usd));
    v
}

/// Spending from `from` to `to` (inclusive days).
pub async fn breakdown(
    store: &Store,
    workspace_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<CostBreakdown, sqlx::Error> {
    let groups = store
        .costs()
        .workspace_usage_groups(
            workspace_id,
            start_of(from),
            start_of(to + Duration::days(1)),
        )
        .await?;
    let mut total = UsageTotals::default();
    let mut providers: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut models: BTreeMap<(String, String), UsageTotals> = BTreeMap::new();
    let mut agents: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut days: BTreeMap<String, UsageTotals> = BTreeMap::new();
    let mut day_models: BTreeMap<String, BTreeMap<(String, String), UsageTotals>> = BTreeMap::new();
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
        day_models
            .entry(g.day.clone())
            .or_default()
            .entry((g.provider.clone(), g.model.clone()))
            .or_default()
            .add(&g.totals);
    }
    let mut by_day = Vec::new();
    let mut day = from;
    while day <= to {
        let key = day.to_string();
        let t = days.get(&key).cloned().unwrap_or_default();
        by_day.push((key, t));
        day += Duration::days(1);
    }
    Ok(CostBreakdown {
        total,
        by_provider: ranked(providers),
        by_model: ranked(models),
        by_agent: ranked(agents),
        by_day,
        by_day_model: day_models
            .into_iter()
            .map(|(day, models)| (day, ranked(models)))
            .collect(),
    })
}

/// One month of a user's billing: tokens counted against the monthly budget, and the usage
/// records' totals.
#[derive(Debug, Clone)]
pub struct MonthBilling {
    /// `YYYY-MM`.
    pub month: String,
    /// Tokens counted against the budget.
    pub tokens: i64,
    /// Usage records' totals.
    pub totals: UsageTotals,
}

/// A user's billing over the last `months` calendar months, current month first; the
/// current month is always present, other months only when they had usage.
pub async fn user_billing(
    store: &Store,
    user_id: &str,
    months: i64,
) -> Result<Vec<MonthBilling>, sqlx::Error> {
    let from = months_back(months);
    let records = store
        .costs()
        .user_usage_by_month(user_id, start_of(from))
        .await?;
    let counters = store
        .costs()
        .user_month_tokens(user_id, &from.format("%Y-%m").to_string())
        .await?;
    let current = Utc::now().format("%Y-%m").to_string();
    let mut by_month: BTreeMap<String, (i64, UsageTotals)> = BTreeMap::new();
    by_month.insert(current, (0, UsageTotals::default()));
    for r in records {
        by_month.entry(r.period).or_default().1 = r.totals;
    }
    for (month, tokens) in counters {
        by_month.entry(month).or_default().0 = tokens;
    }
    Ok(by_month
        .into_iter()
        .rev()
        .map(|(month, (tokens, totals))| MonthBilling {
            month,
            tokens,
            totals,
        })
        .collect())
}
