//! Pass-through completions: with `openai.passthroughModels: true`, `/v1` offers the chat
//! models of every configured provider that the price table knows as `<provider>/<model>`,
//! and answers a completion on one with a single provider call with the operator's
//! credentials — no agent, prompt, tools, memory or session. It is admitted like a turn (the
//! caller's budget and rate limits by the route; role, workspace restrictions and quotas
//! here), runs on the task tracker as a [`RunningTurn`] (a client that leaves cancels it,
//! a cut-off call is still billed), and is billed and traced under the agent id
//! `<provider>/<model>` (usage and cost rows, the monthly token counter, a trace, exported
//! over OTLP when that is configured).

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;
use sqlx::types::Json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Conversation, ModelEntry, Sampling};
use crate::{
    chat::{
        admit::{check_quotas, check_restrictions},
        context::estimate_messages,
        events::{ChatEvent, TurnReply, TurnUsage},
        record::{Billed, inference_trace, outcome_status, usage_rows},
        runner::Stop,
        runtime::TurnRuntime,
        turn::{RunningTurn, TurnEnv},
        turn_log::TurnLog,
    },
    config::Config,
    error::{ApiError, ApiResult},
    providers::{ChatRequest, Pricing, StreamEvent, Target, chat_stream_traced},
    store::{Store, TraceRow, TurnRecord, ids::new_id},
    workspaces::WorkspaceMember,
};

/// A raw provider model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawModel {
    /// Provider id (`openai`, `claude`, …).
    pub provider: String,
    /// The provider's model id.
    pub model: String,
}

impl RawModel {
    /// `<provider>/<model>`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

/// The raw models on offer: none unless `openai.passthroughModels` is on, else each
/// configured provider's priced chat models.
pub fn offered(config: &Config, pricing: &Pricing) -> Vec<RawModel> {
    if !config.openai.passthrough_models {
        return Vec::new();
    }
    config
        .inference
        .configured_providers()
        .into_iter()
        .flat_map(|provider| {
            pricing
                .models_of(provider)
                .into_iter()
                .map(move |model| RawModel {
                    provider: provider.to_string(),
                    model,
                })
        })
        .collect()
}

/// The offered raw model `id` names (`<provider>/<model>`, split at the first `/`).
pub fn find(config: &Config, pricing: &Pricing, id: &str) -> Option<RawModel> {
    let (provider, model) = id.split_once('/')?;
    offered(config, pricing)
        .into_iter()
        .find(|m| m.provider == provider && m.model == model)
}

/// The offered raw models a member of `ws` may call (its provider and model restrictions
/// applied), as `/v1/models` entries owned by their provider.
pub async fn model_entries(
    store: &Store,
    config: &Config,
    pricing: &Pricing,
    ws: &str,
    created: DateTime<Utc>,
) -> ApiResult<Vec<ModelEntry>> {
    let offered = offered(config, pricing);
    if offered.is_empty() {
        return Ok(Vec::new());
    }
    let workspace = store
        .workspaces()
        .workspace_cached(ws)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    Ok(offered
        .into_iter()
        .filter(|m| check_restrictions(&workspace, &m.provider, &m.model).is_ok())
        .map(|m| ModelEntry {
            id: m.id(),
            created,
            owned_by: m.provider,
        })
        .collect())
}

/// A pass-through call ready to run.
#[derive(Debug)]
pub struct PassthroughPlan {
    /// Its trace (`trc_…`).
    pub trace_id: String,
    request_id: Option<String>,
    user_id: String,
    workspace_id: String,
    model: RawModel,
    request: ChatRequest,
    deadline: tokio::time::Instant,
    started_at: DateTime<Utc>,
}

/// Authorizes the call (viewers cannot run models), applies the workspace's restrictions and
/// the quotas (as for an agent named `<provider>/<model>`), and builds the provider request
/// from the client's messages and sampling.
pub async fn plan(
    env: &TurnEnv<'_>,
    member: &WorkspaceMember,
    model: RawModel,
    conversation: Conversation,
    sampling: Sampling,
    request_id: Option<String>,
) -> ApiResult<PassthroughPlan> {
    if !member.role.can_run_agents() {
        return Err(ApiError::Forbidden("Viewers cannot run models".into()));
    }
    let ws = &member.workspace_id;
    let workspace = env
        .store
        .workspaces()
        .workspace_cached(ws)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    check_restrictions(&workspace, &model.provider, &model.model)?;
    check_quotas(env, ws, &model.id(), &conversation.text()).await?;
    let request = ChatRequest {
        model: model.model.clone(),
        messages: conversation.into_messages(),
        tools: Vec::new(),
        max_tokens: sampling.max_output_tokens,
        temperature: sampling.temperature,
    };
    Ok(PassthroughPlan {
        trace_id: new_id("trc"),
        request_id,
        user_id: member.user.id.clone(),
        workspace_id: ws.clone(),
        model,
        request,
        deadline: tokio::time::Instant::now() + env.config.limits.request_timeout,
        started_at: Utc::now(),
    })
}

/// Starts the call on the task tracker; consume it like a turn (its `done` has no session).
pub fn start(env: &TurnEnv<'_>, plan: PassthroughPlan) -> RunningTurn {
    let span = tracing::info_span!(
        "passthrough",
        request_id = plan.request_id.as_deref().unwrap_or_default(),
        trace_id = %plan.trace_id,
        model = %plan.model.id(),
    );
    let request_id = plan.request_id.clone();
    let runtime = TurnRuntime::from(env);
    RunningTurn::spawn_task(
        env.tasks,
        String::new(),
        request_id,
        span,
        move |tx, cancel| run(runtime, plan, tx, cancel),
    )
}

/// Streams the call, then records it and sends `done` or `error`.
async fn run(
    rt: TurnRuntime,
    plan: PassthroughPlan,
    events: mpsc::Sender<ChatEvent>,
    cancel: CancellationToken,
) {
    let _in_flight = rt.in_flight.token();
    let mut log = TurnLog::default();
    let outcome = tokio::select! {
        r = call(&rt, &plan, &mut log, &events) => r,
        () = cancel.cancelled() => Err(Stop::Cancelled),
        () = rt.shutdown.cancelled() => Err(Stop::Shutdown),
        () = tokio::time::sleep_until(plan.deadline) => Err(Stop::Timeout),
    };
    log.close_call(match &outcome {
        Ok(_) => "stop",
        Err(Stop::Cancelled) => "cancelled",
        Err(Stop::Timeout) => "timeout",
        Err(Stop::Shutdown) => "shutdown",
        Err(Stop::Failed(_)) => "error",
    });
    let (prompt, completion) = log.totals();
    // As for a turn: a call whose usage could not be stored is not answered as a success (it
    // would go unbilled); the client gets the store's error (503 when the database is out).
    let outcome = match record(&rt, &plan, &log, &outcome).await {
        Ok(()) => outcome,
        Err(e) => {
            tracing::error!(error = ?e, "could not record the pass-through call");
            match outcome {
                Ok(_) => Err(Stop::Failed(ApiError::from(e))),
                stopped => stopped,
            }
        }
    };
    let event = match outcome {
        Ok(content) => {
            let mut usage = TurnUsage::default();
            usage.add(prompt, completion);
            ChatEvent::Done(TurnReply {
                content,
                session_id: String::new(),
                tools_used: Vec::new(),
                usage,
            })
        }
        Err(Stop::Failed(e)) => ChatEvent::Error((&e).into()),
        Err(Stop::Timeout) => ChatEvent::Error((&ApiError::Timeout).into()),
        Err(Stop::Shutdown) => ChatEvent::Error((&crate::chat::runner::shutdown_error()).into()),
        Err(Stop::Cancelled) => return,
    };
    if !cancel.is_cancelled() {
        let _ = events.send(event).await;
    }
}

/// The provider call: forwards text deltas, keeps usage; returns the whole text.
async fn call(
    rt: &TurnRuntime,
    plan: &PassthroughPlan,
    log: &mut TurnLog,
    events: &mpsc::Sender<ChatEvent>,
) -> Result<String, Stop> {
    let target = Target::new(plan.model.provider.as_str(), plan.model.model.clone());
    let (result, attempts) = chat_stream_traced(&rt.providers, target, None, &plan.request).await;
    let (mut stream, target) = match result {
        Ok(ok) => ok,
        Err(e) => {
            log.failed_attempts.extend(attempts);
            return Err(e.into());
        }
    };
    let estimate = estimate_messages(&plan.request.messages);
    log.open_call("turn", 0, target, attempts, estimate);
    while let Some(item) = stream.next().await {
        match item? {
            StreamEvent::TextDelta(delta) => {
                log.push_text(&delta);
                let _ = events.send(ChatEvent::Content(delta)).await;
            }
            StreamEvent::Usage(usage) => log.set_usage(usage),
            // No tools are offered, so tool-call events cannot be meaningful here.
            StreamEvent::ToolCallStart { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::Finish { .. } => {}
        }
    }
    Ok(log.open_text().to_string())
}

/// Usage rows, the monthly counter and the trace, in one transaction (no session, no
/// messages).
async fn record(
    rt: &TurnRuntime,
    plan: &PassthroughPlan,
    log: &TurnLog,
    outcome: &Result<String, Stop>,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let model_id = plan.model.id();
    let billed = Billed {
        user_id: &plan.user_id,
        workspace_id: &plan.workspace_id,
        agent_id: &model_id,
        session_id: None,
    };
    let (usage, cost) = usage_rows(&rt.pricing, &billed, log, now);
    let (status, error) = outcome_status(outcome);
    crate::observability::turn(status, &usage, log.calls.iter().map(|c| c.latency_ms));
    let (prompt, completion) = log.totals();
    let trace = TraceRow {
        id: plan.trace_id.clone(),
        user_id: plan.user_id.clone(),
        workspace_id: plan.workspace_id.clone(),
        agent_id: model_id,
        session_id: None,
        request_id: plan.request_id.clone(),
        status: status.into(),
        error,
        prompt_tokens: prompt as i64,
        completion_tokens: completion as i64,
        cost_usd: cost,
        duration_ms: (now - plan.started_at).num_milliseconds().max(0),
        detail: Some(Json(json!({
            "passthrough": true,
            "inference": inference_trace(log, &usage),
            "failedAttempts": log.failed_attempts,
            "replica": crate::cluster::replica_id(),
        }))),
        started_at: plan.started_at,
        finished_at: now,
    };
    let month = now.format("%Y-%m").to_string();
    rt.store
        .turns()
        .record_turn(&TurnRecord {
            reservation: None,
            session_id: None,
            messages: &[],
            usage: &usage,
            trace: &trace,
            month: &month,
            outbox: &[],
            reply: None,
        })
        .await?;
    // Exported like a turn's trace (off the request path).
    rt.otlp.push(&trace);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_models_are_offered_only_when_enabled_and_priced() {
        let mut config = Config::default();
        let env = |k: &str| (k == "OPENAI_API_KEY").then(|| "sk-test".to_string());
        config.inference =
            crate::providers::InferenceConfig::from_sources(None, &env).unwrap_or_default();
        let pricing = Pricing::new(Some(
            &json!({"openai/my-tune": {"input": 1.0, "output": 2.0}}),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(offered(&config, &pricing).is_empty());
        assert_eq!(find(&config, &pricing, "openai/gpt-4o-mini"), None);
        config.openai.passthrough_models = true;
        let ids: Vec<String> = offered(&config, &pricing)
            .iter()
            .map(RawModel::id)
            .collect();
        assert!(ids.contains(&"openai/gpt-4o-mini".to_string()));
        assert!(ids.contains(&"openai/my-tune".to_string()));
        assert!(
            ids.iter()
                .all(|id| id.starts_with("openai/") && !id.contains("embed"))
        );
        assert!(find(&config, &pricing, "claude/claude-sonnet-4").is_none());
        assert_eq!(
            find(&config, &pricing, "openai/gpt-4o").map(|m| m.model),
            Some("gpt-4o".to_string())
        );
    }
}
