//! Response shapes of the `/costs*` routes (and the months of `/admin/usage`).

use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    costs::{CostBreakdown, CostSummary, ModelSpend},
    store::UsageTotals,
};

/// Totals of one group of usage records.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostTotalsOut {
    /// Cost in USD.
    pub cost_usd: f64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Their sum.
    pub total_tokens: i64,
    /// Inference calls.
    pub requests: i64,
}

impl From<&UsageTotals> for CostTotalsOut {
    fn from(t: &UsageTotals) -> Self {
        Self {
            cost_usd: t.cost_usd,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            total_tokens: t.prompt_tokens + t.completion_tokens,
            requests: t.requests,
        }
    }
}

/// One calendar month.
#[derive(Debug, Serialize, ToSchema)]
pub struct MonthCostOut {
    /// `YYYY-MM`.
    pub month: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: CostTotalsOut,
}

/// `GET /costs`: spending per calendar month.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostSummaryOut {
    /// Workspace.
    pub workspace_id: String,
    /// Months covered.
    pub months: i64,
    /// First day covered, `YYYY-MM-DD`.
    pub from: String,
    /// Cost over the months.
    pub total_cost_usd: f64,
    /// Tokens over the months.
    pub total_tokens: i64,
    /// Prompt tokens over the months.
    pub prompt_tokens: i64,
    /// Completion tokens over the months.
    pub completion_tokens: i64,
    /// Inference calls over the months.
    pub requests: i64,
    /// Every month, oldest first.
    pub by_month: Vec<MonthCostOut>,
}

impl CostSummaryOut {
    /// The summary of `months` months of `workspace_id`.
    pub fn new(workspace_id: String, months: i64, s: CostSummary) -> Self {
        let t = &s.total;
        Self {
            workspace_id,
            months,
            from: s.from.to_string(),
            total_cost_usd: t.cost_usd,
            total_tokens: t.prompt_tokens + t.completion_tokens,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            requests: t.requests,
            by_month: s
                .by_month
                .iter()
                .map(|(month, t)| MonthCostOut {
                    month: month.clone(),
                    totals: t.into(),
                })
                .collect(),
        }
    }
}

/// Spending of one provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderCostOut {
    /// Provider id.
    pub provider: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: CostTotalsOut,
}

/// Spending of one model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelCostOut {
    /// Provider id.
    pub provider: String,
    /// Model name.
    pub model: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: CostTotalsOut,
}

/// Spending of one agent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentCostOut {
    /// Agent id.
    pub agent_id: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: CostTotalsOut,
}

/// Spending of one day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayCostOut {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Its totals.
    #[serde(flatten)]
    pub totals: CostTotalsOut,
    /// The day's spending per model, biggest spender first (empty on a day without usage).
    pub by_model: Vec<ModelCostOut>,
}

/// `((provider, model), totals)` pairs as [`ModelCostOut`]s.
fn model_costs(models: ModelSpend) -> Vec<ModelCostOut> {
    models
        .into_iter()
        .map(|((provider, model), t)| ModelCostOut {
            provider,
            model,
            totals: (&t).into(),
        })
        .collect()
}

/// `GET /costs/breakdown`: spending by provider, model, agent and day.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostBreakdownOut {
    /// Workspace.
    pub workspace_id: String,
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day (inclusive), `YYYY-MM-DD`.
    pub to: String,
    /// Cost over the range.
    pub total_cost_usd: f64,
    /// Tokens over the range.
    pub total_tokens: i64,
    /// Inference calls over the range.
    pub requests: i64,
    /// Biggest spender first.
    pub by_provider: Vec<ProviderCostOut>,
    /// Biggest spender first.
    pub by_model: Vec<ModelCostOut>,
    /// Biggest spender first.
    pub by_agent: Vec<AgentCostOut>,
    /// Every day of the range, in order.
    pub by_day: Vec<DayCostOut>,
}

impl CostBreakdownOut {
    /// The breakdown of `workspace_id` from `from` to `to`.
    pub fn new(workspace_id: String, from: String, to: String, b: CostBreakdown) -> Self {
        let mut day_models = b.by_day_model;
        Self {
            workspace_id,
            from,
            to,
            total_cost_usd: b.total.cost_usd,
            total_tokens: b.total.prompt_tokens + b.total.completion_tokens,
            requests: b.total.requests,
            by_provider: b
                .by_provider
                .into_iter()
                .map(|(provider, t)| ProviderCostOut {
                    provider,
                    totals: (&t).into(),
                })
                .collect(),
            by_model: model_costs(b.by_model),
            by_agent: b
                .by_agent
                .into_iter()
                .map(|(agent_id, t)| AgentCostOut {
                    agent_id,
                    totals: (&t).into(),
                })
                .collect(),
            by_day: b
                .by_day
                .into_iter()
                .map(|(date, t)| DayCostOut {
                    by_model: model_costs(day_models.remove(&date).unwrap_or_default()),
                    date,
                    totals: (&t).into(),
                })
                .collect(),
        }
    }
}
