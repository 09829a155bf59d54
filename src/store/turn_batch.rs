//! The SQL of one group commit: every [`TurnWrite`] of a batch in ONE transaction, each table
//! written by one multi-row statement (chunked under the engines' bind-parameter limits).
//!
//! This file is the one place that knows which tables a turn writes: a new part of a turn is a
//! field of [`TurnWrite`], a list in [`Rows`] and one statement in [`write_batch`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    BeginWrite, DeliveryRow, MessageRow, Pool, ReplyDeliveryRow, TraceRow, TurnRecord, UsageRow,
};

/// Everything one turn (or the user message stored before inference) writes, owned, so it can
/// wait in the turn writer's queue.
#[derive(Debug, Default)]
pub struct TurnWrite {
    /// The session whose counters advance: `message_count` by `messages.len()`,
    /// `last_active_at` to `at` (the latest of a batch wins).
    pub session: Option<SessionTouch>,
    /// Messages to insert.
    pub messages: Vec<MessageRow>,
    /// One row per inference call.
    pub usage: Vec<UsageRow>,
    /// Tokens added to the user's monthly counter (summed per user and month in a batch).
    pub tokens: Option<MonthTokens>,
    /// The budget reservation removed as the real tokens are added.
    pub reservation: Option<String>,
    /// Webhook deliveries of the events the turn causes (the transactional outbox).
    pub outbox: Vec<DeliveryRow>,
    /// The reply to the caller's `webhookUrl` (its outbox row), if the turn had one: the
    /// `running` placeholder with the user message, the reply itself with the turn (an
    /// upsert on the delivery id).
    pub reply: Option<ReplyDeliveryRow>,
    /// The turn's trace.
    pub trace: Option<TraceRow>,
}

/// A session's counters to advance.
#[derive(Debug, Clone)]
pub struct SessionTouch {
    /// `ses_…`
    pub id: String,
    /// The new `last_active_at`.
    pub at: DateTime<Utc>,
}

/// Tokens to add to `user_monthly_tokens`.
#[derive(Debug, Clone)]
pub struct MonthTokens {
    /// User billed.
    pub user_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Prompt plus completion tokens.
    pub tokens: i64,
}

impl TurnWrite {
    /// The user message of a turn, stored before inference (a crash loses no input).
    pub fn user_message(message: MessageRow, at: DateTime<Utc>) -> Self {
        Self {
            session: Some(SessionTouch {
                id: message.session_id.clone(),
                at,
            }),
            messages: vec![message],
            ..Self::default()
        }
    }
}

impl From<&TurnRecord<'_>> for TurnWrite {
    fn from(rec: &TurnRecord<'_>) -> Self {
        // Destructured, so a field added to `TurnRecord` fails to compile until it is written.
        let TurnRecord {
            session_id,
            messages,
            usage,
            trace,
            month,
            reservation,
            outbox,
            reply,
        } = rec;
        let tokens: i64 = usage
            .iter()
            .map(|u| u.prompt_tokens + u.completion_tokens)
            .sum();
        Self {
            session: session_id.map(|id| SessionTouch {
                id: id.to_string(),
                at: trace.finished_at,
            }),
            messages: messages.to_vec(),
            usage: usage.to_vec(),
            tokens: (tokens > 0).then(|| MonthTokens {
                user_id: trace.user_id.clone(),
                month: month.to_string(),
                tokens,
            }),
            reservation: reservation.map(str::to_string),
            outbox: outbox.to_vec(),
            reply: reply.cloned(),
            trace: Some((*trace).clone()),
        }
    }
}

/// The rows of a batch, per table; counters summed per key.
#[derive(Default)]
struct Rows<'a> {
    messages: Vec<&'a MessageRow>,
    sessions: Vec<(&'a str, i64, DateTime<Utc>)>,
    usage: Vec<&'a UsageRow>,
    tokens: Vec<(&'a str, &'a str, i64)>,
    reservations: Vec<&'a str>,
    outbox: Vec<&'a DeliveryRow>,
    replies: Vec<&'a ReplyDeliveryRow>,
    traces: Vec<&'a TraceRow>,
}

impl<'a> Rows<'a> {
    fn of(batch: &[&'a TurnWrite]) -> Self {
        let mut rows = Rows::default();
        let mut sessions: BTreeMap<&str, (i64, DateTime<Utc>)> = BTreeMap::new();
        let mut tokens: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for w in batch {
            rows.messages.extend(&w.messages);
            if let Some(s) = &w.session {
                let e = sessions.entry(s.id.as_str()).or_insert((0, s.at));
                e.0 += w.messages.len() as i64;
                e.1 = e.1.max(s.at);
            }
            rows.usage.extend(&w.usage);
            if let Some(t) = &w.tokens {
                *tokens
                    .entry((t.user_id.as_str(), t.month.as_str()))
                    .or_default() += t.tokens;
            }
            rows.reservations.extend(w.reservation.as_deref());
            rows.outbox.extend(&w.outbox);
            rows.replies.extend(&w.reply);
            rows.traces.extend(&w.trace);
        }
        rows.sessions = sessions
            .into_iter()
            .map(|(id, (n, at))| (id, n, at))
            .collect();
        rows.tokens = tokens.into_iter().map(|((u, m), n)| (u, m, n)).collect();
        rows
    }
}

/// Bind parameters per statement: under SQLite's 32 766 and PostgreSQL's 65 535.
pub(in crate::store) const MAX_BINDS: usize = 16_000;

/// `<head> ($1, …, $cols), ($cols+1, …), …` for `rows` rows.
pub(in crate::store) fn values_sql(head: &str, cols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + rows * cols * 6);
    sql.push_str(head);
    for r in 0..rows {
        sql.push_str(if r == 0 { " (" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * cols + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Runs `<head> VALUES (…), (…)` over `$rows` on `$tx`, `MAX_BINDS / $cols` rows per
/// statement, binding each row with `$bind` (`$q` the query, `$r` the row). Returns early with
/// the error.
macro_rules! insert_values {
    ($tx:expr, $head:expr, $cols:expr, $rows:expr, |$q:ident, $r:ident| $bind:expr) => {
        for chunk in $rows.chunks(MAX_BINDS / $cols) {
            let sql = values_sql($head, $cols, chunk.len());
            let mut $q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for $r in chunk {
                $q = $bind;
            }
            $q.execute(&mut *$tx).await?;
        }
    };
}

/// `DELETE FROM token_reservations WHERE id IN ($1, …)`.
fn delete_sql(n: usize) -> String {
    let ids: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "DELETE FROM token_reservations WHERE id IN ({})",
        ids.join(", ")
    )
}

/// The statements both engines share, on `$tx` (an open write transaction).
macro_rules! write_rows {
    ($tx:expr, $rows:expr) => {
        let rows = $rows;
        insert_values!($tx, "INSERT INTO messages (id, session_id, role, content, tool_calls, tool_call_id, name, incomplete, created_at) VALUES", 9, rows.messages,
            |q, m| q.bind(&m.id).bind(&m.session_id).bind(&m.role).bind(&m.content)
                .bind(&m.tool_calls).bind(&m.tool_call_id).bind(&m.name).bind(m.incomplete).bind(m.created_at));
        insert_values!($tx, "INSERT INTO usage_records (id, user_id, workspace_id, agent_id, session_id, provider, model, prompt_tokens, completion_tokens, cached_tokens, cost_usd, created_at) VALUES", 12, rows.usage,
            |q, u| q.bind(&u.id).bind(&u.user_id).bind(&u.workspace_id).bind(&u.agent_id).bind(&u.session_id)
                .bind(&u.provider).bind(&u.model).bind(u.prompt_tokens).bind(u.completion_tokens)
                .bind(u.cached_tokens).bind(u.cost_usd).bind(u.created_at));
        // One row per (user, month): PostgreSQL refuses an upsert touching a row twice.
        for chunk in rows.tokens.chunks(MAX_BINDS / 3) {
            let sql = values_sql("INSERT INTO user_monthly_tokens (user_id, month, tokens) VALUES", 3, chunk.len())
                + " ON CONFLICT (user_id, month) DO UPDATE SET tokens = user_monthly_tokens.tokens + excluded.tokens";
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for (user, month, tokens) in chunk {
                q = q.bind(*user).bind(*month).bind(*tokens);
            }
            q.execute(&mut *$tx).await?;
        }
        for chunk in rows.reservations.chunks(MAX_BINDS) {
            let sql = delete_sql(chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for id in chunk {
                q = q.bind(*id);
            }
            q.execute(&mut *$tx).await?;
        }
        // Before the traces on purpose: the store tests fail a trace insert to show that the
        // events go with their turn.
        insert_values!($tx, "INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, attempts, next_attempt_at, response_status, error, created_at, delivered_at) VALUES", 11, rows.outbox,
            |q, d| q.bind(&d.id).bind(&d.webhook_id).bind(&d.event).bind(&d.body).bind(&d.status)
                .bind(d.attempts).bind(d.next_attempt_at).bind(d.response_status).bind(&d.error)
                .bind(d.created_at).bind(d.delivered_at));
        // The turn's reply replaces the placeholder written with its user message (in an
        // earlier batch: the turn ran in between), unless the sweep already sent that as lost.
        for chunk in rows.replies.chunks(MAX_BINDS / 14) {
            let sql = values_sql("INSERT INTO reply_deliveries (id, user_id, workspace_id, session_id, url, event, body, status, attempts, next_attempt_at, response_status, error, created_at, delivered_at) VALUES", 14, chunk.len())
                + " ON CONFLICT (id) DO UPDATE SET body = excluded.body, status = excluded.status, \
                   next_attempt_at = excluded.next_attempt_at WHERE reply_deliveries.status = 'running'";
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            for d in chunk {
                q = q.bind(&d.id).bind(&d.user_id).bind(&d.workspace_id).bind(&d.session_id).bind(&d.url)
                    .bind(&d.event).bind(&d.body).bind(&d.status).bind(d.attempts).bind(d.next_attempt_at)
                    .bind(d.response_status).bind(&d.error).bind(d.created_at).bind(d.delivered_at);
            }
            q.execute(&mut *$tx).await?;
        }
        insert_values!($tx, "INSERT INTO traces (id, user_id, workspace_id, agent_id, session_id, request_id, status, error, prompt_tokens, completion_tokens, cost_usd, duration_ms, detail, started_at, finished_at) VALUES", 15, rows.traces,
            |q, t| q.bind(&t.id).bind(&t.user_id).bind(&t.workspace_id).bind(&t.agent_id).bind(&t.session_id)
                .bind(&t.request_id).bind(&t.status).bind(&t.error).bind(t.prompt_tokens).bind(t.completion_tokens)
                .bind(t.cost_usd).bind(t.duration_ms).bind(&t.detail).bind(t.started_at).bind(t.finished_at));
    };
}

/// Writes a batch in one transaction: all of it or nothing. Returns, per write in `batch`
/// order, its session's `message_count` right after that write (`None` for a write that
/// touches no session): what the history window cache checks its appends against.
pub(in crate::store) async fn write_batch(
    pool: &Pool,
    batch: &[&TurnWrite],
) -> Result<Vec<Option<i64>>, sqlx::Error> {
    let rows = Rows::of(batch);
    let mut finals: Vec<(String, i64)> = Vec::with_capacity(rows.sessions.len());
    match pool {
        Pool::Sqlite(p) => {
            let mut tx = p.begin_write().await?;
            write_rows!(tx, &rows);
            // `UPDATE … FROM (VALUES …)`: one statement for every session of the batch.
            for chunk in rows.sessions.chunks(MAX_BINDS / 3) {
                let sql = values_sql(
                    "UPDATE sessions SET message_count = message_count + v.column2, last_active_at = v.column3 FROM (VALUES",
                    3,
                    chunk.len(),
                ) + ") AS v WHERE sessions.id = v.column1 RETURNING id, message_count";
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for (id, n, at) in chunk {
                    q = q.bind(*id).bind(*n).bind(*at);
                }
                finals.extend(q.fetch_all(&mut *tx).await?);
            }
            tx.commit().await?;
        }
        Pool::Postgres(p) => {
            let mut tx = p.begin_write().await?;
            write_rows!(tx, &rows);
            if !rows.sessions.is_empty() {
                let ids: Vec<&str> = rows.sessions.iter().map(|s| s.0).collect();
                let counts: Vec<i64> = rows.sessions.iter().map(|s| s.1).collect();
                let ats: Vec<DateTime<Utc>> = rows.sessions.iter().map(|s| s.2).collect();
                finals = sqlx::query_as(
                    "UPDATE sessions SET message_count = sessions.message_count + v.n, last_active_at = v.at \
                     FROM UNNEST($1::text[], $2::bigint[], $3::timestamptz[]) AS v(id, n, at) WHERE sessions.id = v.id \
                     RETURNING sessions.id, sessions.message_count",
                )
                .bind(ids)
                .bind(counts)
                .bind(ats)
                .fetch_all(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(counts_after_each(batch, finals))
}

/// Each write's session count right after it, from the counts after the whole batch: walking
/// the batch backwards, a write's count is the final one less the messages written after it.
fn counts_after_each(batch: &[&TurnWrite], finals: Vec<(String, i64)>) -> Vec<Option<i64>> {
    let mut left: BTreeMap<String, i64> = finals.into_iter().collect();
    let mut counts: Vec<Option<i64>> = batch
        .iter()
        .rev()
        .map(|w| {
            let session = w.session.as_ref()?;
            let count = left.get_mut(&session.id)?;
            let after = *count;
            *count -= w.messages.len() as i64;
            Some(after)
        })
        .collect();
    counts.reverse();
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_numbered_across_rows() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b) VALUES", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert_eq!(
            delete_sql(2),
            "DELETE FROM token_reservations WHERE id IN ($1, $2)"
        );
    }
}
