//! Aggregates for dashboards and `/metrics`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Store;
use crate::with_pool;

/// Usage of one workspace over a period.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceStats {
    /// Current members.
    pub members: i64,
    /// Sessions created in the period.
    pub sessions: i64,
    /// Messages written in the period.
    pub messages: i64,
    /// Prompt tokens billed in the period.
    pub prompt_tokens: i64,
    /// Completion tokens billed in the period.
    pub completion_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// `[{agentId, requests, tokens, costUsd}]`, busiest first.
    pub by_agent: Vec<Value>,
}

/// Gateway-wide counters for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct GlobalCounts {
    /// Sessions that are active.
    pub active_sessions: i64,
    /// All sessions.
    pub total_sessions: i64,
    /// All messages.
    pub messages: i64,
    /// Cost since the start of the month.
    pub month_cost: f64,
}

/// Aggregates for dashboards and `/metrics`.
#[derive(Clone, Copy)]
pub struct Stats<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The stats aggregate.
    pub fn stats(&self) -> Stats<'_> {
        Stats(self)
    }
}

impl Stats<'_> {
    /// Usage totals of a workspace since `since`.
    pub async fn workspace_stats(
        self,
        workspace_id: &str,
        since: DateTime<Utc>,
    ) -> Result<WorkspaceStats, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE workspace_id = $1 AND created_at >= $2")
                .bind(workspace_id).bind(since).fetch_one(p).await?;
            let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages m JOIN sessions s ON s.id = m.session_id WHERE s.workspace_id = $1 AND m.created_at >= $2")
                .bind(workspace_id).bind(since).fetch_one(p).await?;
            let rows: Vec<(String, i64, i64, i64, f64)> = sqlx::query_as(
                "SELECT agent_id, COUNT(*), CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) \
                 FROM usage_records WHERE workspace_id = $1 AND created_at >= $2 GROUP BY agent_id ORDER BY COUNT(*) DESC, agent_id")
                .bind(workspace_id).bind(since).fetch_all(p).await?;
            let mut stats = WorkspaceStats { members, sessions, messages, ..Default::default() };
            for (agent, requests, prompt, completion, cost) in rows {
                stats.prompt_tokens += prompt;
                stats.completion_tokens += completion;
                stats.cost_usd += cost;
                stats.by_agent.push(json!({
                    "agentId": agent, "requests": requests,
                    "tokens": prompt + completion, "costUsd": cost,
                }));
            }
            Ok(stats)
        })
    }

    /// Gateway-wide counters.
    pub async fn global_counts(
        self,
        month_start: DateTime<Utc>,
    ) -> Result<GlobalCounts, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let (active_sessions, total_sessions): (i64, i64) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS BIGINT), COUNT(*) FROM sessions")
                .fetch_one(p).await?;
            let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(p).await?;
            let month_cost: f64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM usage_records WHERE created_at >= $1")
                .bind(month_start).fetch_one(p).await?;
            Ok(GlobalCounts { active_sessions, total_sessions, messages, month_cost })
        })
    }
}
