//! Saving a turn: messages, usage and cost per inference call, the monthly token counter, the
//! trace and the webhook deliveries of its events (`session.created`, `chat.completed` /
//! `chat.failed`: the transactional outbox) and the reply to the caller's `webhookUrl` in one
//! transaction; skill metrics afterwards, off the request path.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use super::{
    events::ChatEvent, plan::TurnPlan, reply_webhook, runner::Stop, runtime::TurnRuntime,
    turn_log::TurnLog,
};
use crate::{
    memory,
    providers::Pricing,
    store::{SkillMetric, TraceRow, TurnRecord, UsageRow, ids::new_id},
};

/// Writes the turn (with the reply to its `webhookUrl`, `last` being its final event);
/// returns the trace id.
pub async fn record(
    rt: &TurnRuntime,
    plan: &TurnPlan,
    log: &TurnLog,
    outcome: &Result<String, Stop>,
    last: &ChatEvent,
) -> Result<String, sqlx::Error> {
    let now = Utc::now();
    let billed = Billed {
        user_id: &plan.user_id,
        workspace_id: &plan.workspace_id,
        agent_id: &plan.agent_id,
        session_id: Some(&plan.session.id),
    };
    let (usage, cost_total) = usage_rows(&rt.pricing, &billed, log, now);
    let (status, error) = outcome_status(outcome);
    crate::observability::turn(status, &usage, log.calls.iter().map(|c| c.latency_ms));
    let (prompt, completion) = log.totals();
    let inference = inference_trace(log, &usage);
    let providers_used: Vec<&str> = log
        .calls
        .iter()
        .map(|c| c.target.provider.as_str())
        .collect();
    let breakers: Vec<_> = rt
        .providers
        .breakers()
        .snapshot()
        .into_iter()
        .filter(|b| providers_used.contains(&b.provider.as_str()) || b.state != "closed")
        .map(|b| json!({ "provider": b.provider, "state": b.state, "failures": b.failures }))
        .collect();
    let trace = TraceRow {
        id: plan.trace_id.clone(),
        user_id: plan.user_id.clone(),
        workspace_id: plan.workspace_id.clone(),
        agent_id: plan.agent_id.clone(),
        session_id: Some(plan.session.id.clone()),
        request_id: plan.request_id.clone(),
        status: status.into(),
        error,
        prompt_tokens: prompt as i64,
        completion_tokens: completion as i64,
        cost_usd: cost_total,
        duration_ms: (now - plan.started_at).num_milliseconds().max(0),
        detail: Some(Json(json!({
            "inference": inference,
            "failedAttempts": log.failed_attempts,
            "tools": log.tool_trace,
            "breakers": breakers,
            "compaction": log.compaction,
            "toolsUsed": log.tools_used,
            "replica": crate::cluster::replica_id(),
        }))),
        started_at: plan.started_at,
        finished_at: now,
    };
    let month = now.format("%Y-%m").to_string();
    // Subscriptions are read before the transaction; the rows go in with the turn.
    let events = turn_events(plan, log, outcome, status, trace.error.as_deref());
    let outbox =
        crate::webhooks::outbox(&rt.store, &plan.user_id, Some(&plan.workspace_id), events).await?;
    let reply = (plan.reply_to.as_ref())
        .map(|to| reply_webhook::delivery(plan, to, &reply_webhook::reply_body(last), now));
    rt.store
        .turns()
        .record_turn(&TurnRecord {
            session_id: Some(&plan.session.id),
            messages: &log.messages,
            usage: &usage,
            trace: &trace,
            month: &month,
            reservation: plan.reservation.as_deref(),
            outbox: &outbox,
            reply: reply.as_ref(),
        })
        .await?;
    // Only offered to the exporter's queue: sending happens off the request path.
    rt.otlp.push(&trace);
    tracing::info!(
        status,
        prompt_tokens = prompt,
        completion_tokens = completion,
        "turn recorded"
    );
    record_skill_metrics(rt, plan, log);
    if let Ok(reply) = outcome {
        let owner = memory::Owner {
            user_id: &plan.user_id,
            workspace_id: &plan.workspace_id,
        };
        let turn = memory::FinishedTurn {
            owner,
            session_id: &plan.session.id,
            started_at: plan.started_at,
            reply,
        };
        memory::remember_turn(&rt.store, &rt.tasks, turn);
    }
    Ok(trace.id)
}

/// Who a turn's usage is billed to and filed under.
pub(super) struct Billed<'a> {
    pub(super) user_id: &'a str,
    pub(super) workspace_id: &'a str,
    /// The agent, or the `<provider>/<model>` of a pass-through completion.
    pub(super) agent_id: &'a str,
    pub(super) session_id: Option<&'a str>,
}

/// One usage row per inference call, costed with the price table, and the total cost.
pub(super) fn usage_rows(
    pricing: &Pricing,
    billed: &Billed<'_>,
    log: &TurnLog,
    now: DateTime<Utc>,
) -> (Vec<UsageRow>, f64) {
    let mut cost_total = 0.0;
    let rows = log
        .calls
        .iter()
        .map(|call| {
            let cost = pricing.cost(&call.target.provider, &call.target.model, &call.usage);
            cost_total += cost;
            UsageRow {
                id: new_id("use"),
                user_id: billed.user_id.to_string(),
                workspace_id: billed.workspace_id.to_string(),
                agent_id: billed.agent_id.to_string(),
                session_id: billed.session_id.map(str::to_string),
                provider: call.target.provider.clone(),
                model: call.target.model.clone(),
                prompt_tokens: call.usage.prompt_tokens as i64,
                completion_tokens: call.usage.completion_tokens as i64,
                cached_tokens: call.usage.cached_prompt_tokens as i64,
                cost_usd: cost,
                created_at: now,
            }
        })
        .collect();
    (rows, cost_total)
}

/// The trace status of an outcome and its error message.
pub(super) fn outcome_status(outcome: &Result<String, Stop>) -> (&'static str, Option<String>) {
    match outcome {
        Ok(_) => ("ok", None),
        Err(Stop::Cancelled) => ("cancelled", Some("client disconnected".to_string())),
        Err(Stop::Timeout) => (
            "timeout",
            Some("turn exceeded the request timeout".to_string()),
        ),
        Err(Stop::Shutdown) => (
            "shutdown",
            Some("the gateway shut down before the turn finished".to_string()),
        ),
        Err(Stop::Failed(e)) => ("error", Some(e.public_message())),
    }
}

/// The trace's entry for each inference call, with its cost from `usage` (one row per call).
pub(super) fn inference_trace(log: &TurnLog, usage: &[UsageRow]) -> Vec<serde_json::Value> {
    log.calls
        .iter()
        .zip(usage)
        .map(|(c, u)| {
            json!({
                "purpose": c.purpose, "round": c.round, "provider": c.target.provider,
                "model": c.target.model, "promptTokens": c.usage.prompt_tokens,
                "completionTokens": c.usage.completion_tokens, "estimated": c.estimated,
                "latencyMs": c.latency_ms, "finishReason": c.finish, "attempts": c.attempts,
                "startedAt": c.started_at, "costUsd": u.cost_usd,
            })
        })
        .collect()
}

/// The events a turn causes: `session.created` (first turn of a session) and
/// `chat.completed` / `chat.failed`.
fn turn_events(
    plan: &TurnPlan,
    log: &TurnLog,
    outcome: &Result<String, Stop>,
    status: &str,
    error: Option<&str>,
) -> Vec<(&'static str, serde_json::Value)> {
    let mut events = Vec::with_capacity(2);
    if plan.is_new_session {
        let data = json!({
            "sessionId": plan.session.id, "agentId": plan.agent_id, "workspaceId": plan.workspace_id,
        });
        events.push(("session.created", data));
    }
    let (prompt, completion) = log.totals();
    let mut data = json!({
        "sessionId": plan.session.id, "agentId": plan.agent_id, "workspaceId": plan.workspace_id,
        "traceId": plan.trace_id, "status": status, "toolsUsed": log.tools_used,
        "usage": {"promptTokens": prompt, "completionTokens": completion, "totalTokens": prompt + completion},
    });
    let event = match outcome {
        Ok(content) => {
            data["content"] = json!(content);
            "chat.completed"
        }
        Err(_) => {
            data["error"] = json!(error);
            "chat.failed"
        }
    };
    events.push((event, data));
    events
}

/// One `skill_metrics` row per tool call a skill brought, written after the reply.
fn record_skill_metrics(rt: &TurnRuntime, plan: &TurnPlan, log: &TurnLog) {
    let now = Utc::now();
    let rows: Vec<SkillMetric> = log
        .tool_calls
        .iter()
        .filter_map(|call| {
            let skill = plan
                .tools
                .iter()
                .find(|t| t.name == call.name)?
                .skill
                .clone()?;
            Some(SkillMetric {
                skill_id: skill,
                tool_name: call.name.clone(),
                workspace_id: plan.workspace_id.clone(),
                duration_ms: call.duration_ms as i64,
                error: call.error,
                created_at: now,
            })
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    let store = rt.store.clone();
    rt.tasks.spawn(async move {
        for row in rows {
            if let Err(e) = store.skill_metrics().record_skill_metric(&row).await {
                tracing::warn!(error = %e, "could not record a skill metric");
            }
        }
    });
}
