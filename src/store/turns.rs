//! What a finished turn leaves behind — messages, usage, the monthly token counter and the
//! trace — and the events it causes (the transactional outbox), written atomically through the
//! store's group commit (`turn_writer`: many turns share one transaction, each caller waits
//! for its commit).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{DeliveryRow, MessageRow, ReplyDeliveryRow, Store, TraceRow, TurnWrite, WriterStats};
use crate::with_pool;

/// One inference call's billed usage.
#[derive(Debug, Clone, FromRow)]
pub struct UsageRow {
    /// `use_…`
    pub id: String,
    /// User billed.
    pub user_id: String,
    /// Workspace billed.
    pub workspace_id: String,
    /// Agent.
    pub agent_id: String,
    /// Session.
    pub session_id: Option<String>,
    /// Provider that served.
    pub provider: String,
    /// Model that served.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: i64,
    /// Completion tokens.
    pub completion_tokens: i64,
    /// Cached prompt tokens.
    pub cached_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Everything one turn writes (borrowed; [`TurnWrite`] is the owned form the writer queues).
#[derive(Debug)]
pub struct TurnRecord<'a> {
    /// Session the messages belong to; `None` for a call outside any session (a
    /// pass-through completion), which writes no messages.
    pub session_id: Option<&'a str>,
    /// Assistant and tool messages.
    pub messages: &'a [MessageRow],
    /// One row per inference call.
    pub usage: &'a [UsageRow],
    /// The trace (with its `detail`).
    pub trace: &'a TraceRow,
    /// `YYYY-MM` of the turn, for the budget counter.
    pub month: &'a str,
    /// The turn's budget reservation, removed as its real tokens are added.
    pub reservation: Option<&'a str>,
    /// The webhook deliveries of the events the turn causes (`chat.completed`, …): written in
    /// the turn's transaction, so an event exists exactly when its turn does.
    pub outbox: &'a [DeliveryRow],
    /// The reply to the caller's `webhookUrl`, queued with the turn (`None` without one).
    pub reply: Option<&'a ReplyDeliveryRow>,
}

/// What a finished turn leaves behind: messages, usage, token counters.
#[derive(Clone, Copy)]
pub struct Turns<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The turns aggregate.
    pub fn turns(&self) -> Turns<'_> {
        Turns(self)
    }
}

impl Turns<'_> {
    /// Writes a finished (or cut-off) turn atomically, through the group commit: returns once
    /// the transaction holding it committed (copies the rows; see [`Turns::submit`]).
    pub async fn record_turn(self, rec: &TurnRecord<'_>) -> Result<(), sqlx::Error> {
        self.submit(TurnWrite::from(rec)).await.map(|_| ())
    }

    /// Stores the user message of a turn before inference (a crash loses no input) and
    /// advances its session's counters, through the group commit; with the placeholder of the
    /// turn's `webhookUrl` reply (status `running`) when it has one.
    pub async fn record_user_message(
        self,
        message: MessageRow,
        awaiting_reply: Option<ReplyDeliveryRow>,
        at: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let session_id = message.session_id.clone();
        let cached = [message.clone()];
        let write = TurnWrite {
            reply: awaiting_reply,
            ..TurnWrite::user_message(message, at)
        };
        let count = self.submit(write).await?;
        // The cached history window follows only when it was at the count before this write
        // (no other writer in between); the turn then reads its history from memory.
        if let Some(count) = count {
            self.0
                .cache
                .windows
                .append_exact(&session_id, count, &cached);
        }
        Ok(())
    }

    /// Queues an owned write for the store's turn writer and waits until the batch holding it
    /// committed: all of the write is on disk when this returns `Ok`, none of it on `Err`.
    /// Answers the session's message count right after the write (`None` without a session).
    pub async fn submit(self, write: TurnWrite) -> Result<Option<i64>, sqlx::Error> {
        self.0.writer.submit(write).await
    }

    /// What the turn writer did since the store opened (commits, writes, retries).
    pub fn writer_stats(self) -> WriterStats {
        self.0.writer.stats()
    }

    /// Tokens a user spent in a month (`YYYY-MM`).
    pub async fn month_tokens(self, user_id: &str, month: &str) -> Result<i64, sqlx::Error> {
        let v: Option<i64> = with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT tokens FROM user_monthly_tokens WHERE user_id = $1 AND month = $2")
                .bind(user_id).bind(month).fetch_optional(p).await
        })?;
        Ok(v.unwrap_or(0))
    }

    /// Tokens and cost of an agent in a workspace since `since`.
    pub async fn agent_usage_since(
        self,
        workspace_id: &str,
        agent_id: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, f64), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM usage_records WHERE workspace_id = $1 AND agent_id = $2 AND created_at >= $3")
                .bind(workspace_id).bind(agent_id).bind(since).fetch_one(p).await
        })
    }
}
