//! Per-call skill metrics written by the agent loop; only aggregates are ever read back.

use chrono::{DateTime, Utc};

use super::{Store, ids::new_id};
use crate::with_pool;

/// One tool call made on behalf of a skill.
#[derive(Debug, Clone)]
pub struct SkillMetric {
    /// The skill that brought the tool.
    pub skill_id: String,
    /// The tool called.
    pub tool_name: String,
    /// Where the call ran.
    pub workspace_id: String,
    /// How long it took.
    pub duration_ms: i64,
    /// Whether it failed.
    pub error: bool,
    /// When it ran.
    pub created_at: DateTime<Utc>,
}

/// Per-call skill metrics and their aggregates.
#[derive(Clone, Copy)]
pub struct SkillMetrics<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The skill metrics aggregate.
    pub fn skill_metrics(&self) -> SkillMetrics<'_> {
        SkillMetrics(self)
    }
}

impl SkillMetrics<'_> {
    /// Records one call.
    pub async fn record_skill_metric(self, m: &SkillMetric) -> Result<(), sqlx::Error> {
        let id = new_id("skm");
        with_pool!(&self.0.pool, p => {
            sqlx::query("INSERT INTO skill_metrics (id, skill_id, tool_name, workspace_id, duration_ms, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id).bind(&m.skill_id).bind(&m.tool_name).bind(&m.workspace_id)
                .bind(m.duration_ms).bind(m.error).bind(m.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

/// Aggregates of one skill's calls over a period (no per-user or per-workspace data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkillMetricsSummary {
    /// Calls in the period.
    pub total_calls: i64,
    /// Calls that failed.
    pub errors: i64,
    /// Median duration (nearest rank), 0 without calls.
    pub p50_ms: i64,
    /// 95th percentile duration (nearest rank), 0 without calls.
    pub p95_ms: i64,
    /// Most called tools: `(name, calls, errors)`, busiest first, at most five.
    pub top_tools: Vec<(String, i64, i64)>,
}

impl SkillMetrics<'_> {
    /// Aggregates a skill's calls since `since`. Percentiles are read by rank with
    /// `ORDER BY … OFFSET`, which both engines share (SQLite has no percentile function).
    pub async fn skill_metrics_summary(
        self,
        skill_id: &str,
        since: DateTime<Utc>,
    ) -> Result<SkillMetricsSummary, sqlx::Error> {
        let (total_calls, errors): (i64, i64) = with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(CASE WHEN error THEN 1 ELSE 0 END), 0) FROM skill_metrics WHERE skill_id = $1 AND created_at >= $2")
                .bind(skill_id).bind(since).fetch_one(p).await
        })?;
        if total_calls == 0 {
            return Ok(SkillMetricsSummary::default());
        }
        let p50_ms = self
            .duration_at_rank(skill_id, since, rank(total_calls, 50))
            .await?;
        let p95_ms = self
            .duration_at_rank(skill_id, since, rank(total_calls, 95))
            .await?;
        let top_tools = with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT tool_name, COUNT(*), COALESCE(SUM(CASE WHEN error THEN 1 ELSE 0 END), 0) FROM skill_metrics \
                            WHERE skill_id = $1 AND created_at >= $2 GROUP BY tool_name ORDER BY COUNT(*) DESC, tool_name LIMIT 5")
                .bind(skill_id).bind(since).fetch_all(p).await
        })?;
        Ok(SkillMetricsSummary {
            total_calls,
            errors,
            p50_ms,
            p95_ms,
            top_tools,
        })
    }

    async fn duration_at_rank(
        self,
        skill_id: &str,
        since: DateTime<Utc>,
        offset: i64,
    ) -> Result<i64, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT duration_ms FROM skill_metrics WHERE skill_id = $1 AND created_at >= $2 ORDER BY duration_ms LIMIT 1 OFFSET $3")
                .bind(skill_id).bind(since).bind(offset).fetch_one(p).await
        })
    }
}

/// Zero-based offset of the nearest-rank `pct`th percentile among `n` ordered values.
fn rank(n: i64, pct: i64) -> i64 {
    ((n * pct + 99) / 100 - 1).clamp(0, n - 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank() {
        assert_eq!(super::rank(10, 50), 4);
        assert_eq!(super::rank(10, 95), 9);
        assert_eq!(super::rank(1, 95), 0);
        assert_eq!(super::rank(20, 95), 18);
    }
}
