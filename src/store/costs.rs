//! Cost reports over `usage_records`: totals per calendar month, and a breakdown by provider,
//! model, agent and day. Date bucketing is dialect-specific (text prefixes of the RFC 3339
//! timestamps on SQLite, `to_char` in UTC on PostgreSQL); both read only the covering index
//! `usage_records_workspace_cover`.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{Pool, Store};
use crate::with_pool;

/// Usage summed over one group.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct UsageTotals {
    /// Inference calls.
    pub requests: i64,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
}

impl UsageTotals {
    /// Adds another group's totals.
    pub fn add(&mut self, other: &UsageTotals) {
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cost_usd += other.cost_usd;
    }
}

/// Usage of one month (`YYYY-MM`) or day (`YYYY-MM-DD`).
#[derive(Debug, Clone, FromRow)]
pub struct PeriodUsage {
    /// The bucket.
    pub period: String,
    /// Its totals.
    #[sqlx(flatten)]
    pub totals: UsageTotals,
}

/// Usage of one (day, provider, model, agent) group.
#[derive(Debug, Clone, FromRow)]
pub struct UsageGroup {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Provider.
    pub provider: String,
    /// Model.
    pub model: String,
    /// Agent.
    pub agent_id: String,
    /// Its totals.
    #[sqlx(flatten)]
    pub totals: UsageTotals,
}

/// Calendar bucket of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// `YYYY-MM`.
    Month,
    /// `YYYY-MM-DD`.
    Day,
}

const SUMS: &str = "COUNT(*) AS requests, CAST(COALESCE(SUM(prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
    CAST(COALESCE(SUM(completion_tokens), 0) AS BIGINT) AS completion_tokens, \
    CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) AS cost_usd";

/// Cost reports over recorded usage.
#[derive(Clone, Copy)]
pub struct Costs<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The costs aggregate.
    pub fn costs(&self) -> Costs<'_> {
        Costs(self)
    }
}

impl Costs<'_> {
    /// The SQL expression that buckets `created_at` (UTC) on this engine.
    fn bucket_expr(self, bucket: Bucket) -> &'static str {
        // SQLite stores `DateTime<Utc>` as RFC 3339 text in UTC, so the date is a prefix.
        match (&self.0.pool, bucket) {
            (Pool::Sqlite(_), Bucket::Month) => "substr(created_at, 1, 7)",
            (Pool::Sqlite(_), Bucket::Day) => "substr(created_at, 1, 10)",
            (Pool::Postgres(_), Bucket::Month) => {
                "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM')"
            }
            (Pool::Postgres(_), Bucket::Day) => {
                "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
            }
        }
    }

    /// A workspace's usage in `[from, to)` per month or day, oldest first (empty periods
    /// are absent).
    pub async fn workspace_usage_by_period(
        self,
        workspace_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Bucket,
    ) -> Result<Vec<PeriodUsage>, sqlx::Error> {
        let expr = self.bucket_expr(bucket);
        let sql = format!(
            "SELECT {expr} AS period, {SUMS} FROM usage_records \
             WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY {expr} ORDER BY period"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(from).bind(to).fetch_all(p).await
        })
    }

    /// A workspace's usage in `[from, to)` grouped by day, provider, model and agent, in one
    /// pass over the index; callers fold the groups into the views they need.
    pub async fn workspace_usage_groups(
        self,
        workspace_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UsageGroup>, sqlx::Error> {
        let day = self.bucket_expr(Bucket::Day);
        let sql = format!(
            "SELECT {day} AS day, provider, model, agent_id, {SUMS} FROM usage_records \
             WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY {day}, provider, model, agent_id ORDER BY day, provider, model, agent_id"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(from).bind(to).fetch_all(p).await
        })
    }

    /// A user's usage per month since `from`, newest first.
    pub async fn user_usage_by_month(
        self,
        user_id: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<PeriodUsage>, sqlx::Error> {
        let expr = self.bucket_expr(Bucket::Month);
        let sql = format!(
            "SELECT {expr} AS period, {SUMS} FROM usage_records WHERE user_id = $1 AND created_at >= $2 \
             GROUP BY {expr} ORDER BY period DESC"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(from).fetch_all(p).await
        })
    }

    /// A user's usage (every workspace) in `[from, to)` per UTC day, oldest first; days
    /// without usage are absent. Reads the index `usage_records_user`.
    pub async fn user_usage_by_day(
        self,
        user_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PeriodUsage>, sqlx::Error> {
        let expr = self.bucket_expr(Bucket::Day);
        let sql = format!(
            "SELECT {expr} AS period, {SUMS} FROM usage_records \
             WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY {expr} ORDER BY period"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(user_id).bind(from).bind(to).fetch_all(p).await
        })
    }

    /// A user's monthly token counters (the budget), newest first, from `from_month` on.
    pub async fn user_month_tokens(
        self,
        user_id: &str,
        from_month: &str,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT month, tokens FROM user_monthly_tokens WHERE user_id = $1 AND month >= $2 ORDER BY month DESC")
                .bind(user_id).bind(from_month).fetch_all(p).await
        })
    }
}
