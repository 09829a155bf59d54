//! What a finished turn leaves behind — messages, usage, the monthly token counter and the
//! trace — and the events it causes (the transactional outbox) written in one transaction (one
//! commit per turn keeps the hot path short).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::{
    BeginWrite, DeliveryRow, MessageRow, ReplyDeliveryRow, Store, TraceRow,
    reply_deliveries::insert_reply_delivery, webhooks::insert_deliveries,
};
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

/// Everything one turn writes.
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
    /// Writes a finished (or cut-off) turn atomically.
    pub async fn record_turn(self, rec: &TurnRecord<'_>) -> Result<(), sqlx::Error> {
        let tokens: i64 = rec
            .usage
            .iter()
            .map(|u| u.prompt_tokens + u.completion_tokens)
            .sum();
        let now = rec.trace.finished_at;
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            for m in rec.messages {
                sqlx::query("INSERT INTO messages (id, session_id, role, content, tool_calls, tool_call_id, name, incomplete, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(&m.id).bind(&m.session_id).bind(&m.role).bind(&m.content)
                    .bind(&m.tool_calls).bind(&m.tool_call_id).bind(&m.name).bind(m.incomplete).bind(m.created_at)
                    .execute(&mut *tx).await?;
            }
            if let Some(session_id) = rec.session_id {
                sqlx::query("UPDATE sessions SET message_count = message_count + $2, last_active_at = $3 WHERE id = $1")
                    .bind(session_id).bind(rec.messages.len() as i64).bind(now)
                    .execute(&mut *tx).await?;
            }
            for u in rec.usage {
                sqlx::query("INSERT INTO usage_records (id, user_id, workspace_id, agent_id, session_id, provider, model, prompt_tokens, completion_tokens, cached_tokens, cost_usd, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
                    .bind(&u.id).bind(&u.user_id).bind(&u.workspace_id).bind(&u.agent_id).bind(&u.session_id)
                    .bind(&u.provider).bind(&u.model).bind(u.prompt_tokens).bind(u.completion_tokens)
                    .bind(u.cached_tokens).bind(u.cost_usd).bind(u.created_at)
                    .execute(&mut *tx).await?;
            }
            if tokens > 0 {
                sqlx::query("INSERT INTO user_monthly_tokens (user_id, month, tokens) VALUES ($1, $2, $3) \
                             ON CONFLICT (user_id, month) DO UPDATE SET tokens = user_monthly_tokens.tokens + excluded.tokens")
                    .bind(&rec.trace.user_id).bind(rec.month).bind(tokens)
                    .execute(&mut *tx).await?;
            }
            if let Some(id) = rec.reservation {
                sqlx::query("DELETE FROM token_reservations WHERE id = $1")
                    .bind(id).execute(&mut *tx).await?;
            }
            // Before the trace on purpose: the store tests fail the trace insert to show that
            // the events go with the turn.
            insert_deliveries!(tx, rec.outbox);
            if let Some(reply) = rec.reply {
                insert_reply_delivery!(tx, reply);
            }
            let t = rec.trace;
            sqlx::query("INSERT INTO traces (id, user_id, workspace_id, agent_id, session_id, request_id, status, error, prompt_tokens, completion_tokens, cost_usd, duration_ms, detail, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
                .bind(&t.id).bind(&t.user_id).bind(&t.workspace_id).bind(&t.agent_id).bind(&t.session_id)
                .bind(&t.request_id).bind(&t.status).bind(&t.error).bind(t.prompt_tokens).bind(t.completion_tokens)
                .bind(t.cost_usd).bind(t.duration_ms).bind(&t.detail).bind(t.started_at).bind(t.finished_at)
                .execute(&mut *tx).await?;
            tx.commit().await
        })
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
