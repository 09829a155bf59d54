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

impl Store {
    /// Records one call.
    pub async fn record_skill_metric(&self, m: &SkillMetric) -> Result<(), sqlx::Error> {
        let id = new_id("skm");
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO skill_metrics (id, skill_id, tool_name, workspace_id, duration_ms, error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id).bind(&m.skill_id).bind(&m.tool_name).bind(&m.workspace_id)
                .bind(m.duration_ms).bind(m.error).bind(m.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}
