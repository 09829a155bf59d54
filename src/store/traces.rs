//! The trace of a turn (one row type, [`TraceRow`]) and how it is read: pages of summaries
//! (without `detail`) per workspace, one trace in full, and recent outcome counts for
//! diagnostics. The chat loop writes traces through [`Turns::record_turn`].

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::Store;
use crate::with_pool;

/// The trace of one turn: written by [`Turns::record_turn`], read back by [`Traces::trace_in`]
/// and, without `detail`, by [`Traces::list_traces`].
#[derive(Debug, Clone, FromRow)]
pub struct TraceRow {
    /// `trc_…`
    pub id: String,
    /// User.
    pub user_id: String,
    /// Workspace.
    pub workspace_id: String,
    /// Agent.
    pub agent_id: String,
    /// Session.
    pub session_id: Option<String>,
    /// Request id of the HTTP call.
    pub request_id: Option<String>,
    /// `ok|error|cancelled|timeout`.
    pub status: String,
    /// Error message when not ok.
    pub error: Option<String>,
    /// Prompt tokens over all calls.
    pub prompt_tokens: i64,
    /// Completion tokens over all calls.
    pub completion_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Wall time.
    pub duration_ms: i64,
    /// Inference calls, tool calls, breaker events, compaction. `None` only in list pages,
    /// which leave the (large) document out; the column is `NOT NULL`, so a turn is always
    /// recorded with one.
    #[sqlx(default)]
    pub detail: Option<Json<Value>>,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub finished_at: DateTime<Utc>,
}

/// Every column but `detail`.
const SUMMARY_COLUMNS: &str = "id, user_id, workspace_id, agent_id, session_id, request_id, status, error, prompt_tokens, completion_tokens, cost_usd, duration_ms, started_at, finished_at";

/// Turn traces.
#[derive(Clone, Copy)]
pub struct Traces<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The traces aggregate.
    pub fn traces(&self) -> Traces<'_> {
        Traces(self)
    }
}

impl Traces<'_> {
    /// A page of a workspace's traces (optionally of one agent), newest first, and the total.
    pub async fn list_traces(
        self,
        workspace_id: &str,
        agent_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<TraceRow>, i64), sqlx::Error> {
        let filter = "workspace_id = $1 AND ($2 IS NULL OR agent_id = $2)";
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM traces WHERE {filter} ORDER BY started_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let count = format!("SELECT COUNT(*) FROM traces WHERE {filter}");
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(agent_id).bind(limit).bind(offset)
                .fetch_all(p).await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.as_str()))
                .bind(workspace_id).bind(agent_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// One trace of a workspace, in full.
    pub async fn trace_in(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<TraceRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, detail FROM traces WHERE id = $1 AND workspace_id = $2"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(workspace_id).fetch_optional(p).await
        })
    }

    /// The newest successful (`ok`) trace of a workspace, started at or after `since`, whose
    /// request id is one of `request_ids`, in full; a job attempt looks for the turn an earlier
    /// attempt of it recorded (the trace is written in the turn's transaction).
    pub async fn ok_trace_of_requests(
        self,
        workspace_id: &str,
        since: DateTime<Utc>,
        request_ids: &[String],
    ) -> Result<Option<TraceRow>, sqlx::Error> {
        if request_ids.is_empty() {
            return Ok(None);
        }
        let list: Vec<String> = (0..request_ids.len())
            .map(|i| format!("${}", i + 3))
            .collect();
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS}, detail FROM traces WHERE workspace_id = $1 AND started_at >= $2 \
             AND status = 'ok' AND request_id IN ({}) ORDER BY started_at DESC, id DESC LIMIT 1",
            list.join(", ")
        );
        with_pool!(&self.0.pool, p => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(workspace_id).bind(since);
            for id in request_ids {
                q = q.bind(id);
            }
            q.fetch_optional(p).await
        })
    }

    /// Turns started since `since`, and how many of them failed (`error` or `timeout`; a
    /// client that left is not a gateway failure).
    pub async fn trace_outcomes_since(
        self,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status IN ('error', 'timeout') THEN 1 ELSE 0 END), 0) AS BIGINT) \
                            FROM traces WHERE started_at >= $1")
                .bind(since).fetch_one(p).await
        })
    }
}
