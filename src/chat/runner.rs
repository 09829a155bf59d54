//! The agent loop: inference (streamed), tool rounds, a final answer without tools when the
//! rounds run out; the turn ends with `done` or `error` after everything is recorded.

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::runtime::TurnRuntime;
use super::{
    context::{
        COMPACTION_THRESHOLD, KEEP_RECENT, compaction_request, estimate_messages, history_messages,
        system_message, trim_to_budget,
    },
    events::{ChatEvent, TurnReply, TurnUsage},
    plan::TurnPlan,
    presence::{PresenceEntry, PresenceState},
    record::record,
    tool_exec::execute_round,
    turn_log::TurnLog,
};
use crate::{
    error::ApiError,
    providers::{
        ChatRequest, Message, ProviderError, Role, StreamEvent, ToolCall, ToolSpec, Usage,
        chat_stream_traced, chat_traced,
    },
    store::session_window::Version,
    tools::ToolContext,
};

/// Most stored messages loaded as history.
const HISTORY_LIMIT: usize = 200;

/// Why a turn stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The provider (or the store) failed.
    Failed(ApiError),
    /// The client went away.
    Cancelled,
    /// The turn ran past its deadline.
    Timeout,
    /// The gateway shut down: the turn was still running when `ASTRA_SHUTDOWN_GRACE` ran out.
    Shutdown,
}

/// The error a turn cut by shutdown ends with (its partial reply is saved and billed).
pub fn shutdown_error() -> ApiError {
    ApiError::Unavailable(
        "The gateway shut down before the turn finished; the partial reply was saved".into(),
    )
}

impl From<ProviderError> for Stop {
    fn from(e: ProviderError) -> Self {
        Stop::Failed(e.into())
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Failed(e.into())
    }
}

/// Runs one turn, sending its events; cancelling `cancel` stops it as a client disconnect,
/// cancelling `rt.shutdown` as [`Stop::Shutdown`]. The turn counts as in flight (shutdown
/// waits for it within the grace) until it is recorded and its last event sent.
pub async fn run_turn(
    rt: TurnRuntime,
    plan: TurnPlan,
    events: mpsc::Sender<ChatEvent>,
    cancel: CancellationToken,
) {
    let _ = events
        .send(ChatEvent::SessionResolved {
            session_id: plan.session.id.clone(),
            is_new: plan.is_new_session,
        })
        .await;
    let _in_flight = rt.in_flight.token();
    if tracing::enabled!(tracing::Level::DEBUG) {
        future_sizes(&rt, &plan, &events);
    }
    set_presence(&rt, &plan, PresenceState::Thinking);
    let mut log = TurnLog::default();
    // The cached history window the turn read, which its messages extend once recorded.
    let mut version = None;
    let outcome = tokio::select! {
        r = drive(&rt, &plan, &mut log, &mut version, &events) => r,
        () = cancel.cancelled() => Err(Stop::Cancelled),
        () = rt.shutdown.cancelled() => Err(Stop::Shutdown),
        () = tokio::time::sleep_until(plan.deadline) => Err(Stop::Timeout),
    };
    let finish = match &outcome {
        Ok(_) => "stop",
        Err(Stop::Cancelled) => "cancelled",
        Err(Stop::Timeout) => "timeout",
        Err(Stop::Shutdown) => "shutdown",
        Err(Stop::Failed(_)) => "error",
    };
    // A call still open was cut off: keep its partial text as an incomplete message.
    let partial = log.partial_turn_text().to_string();
    log.close_call(finish);
    if outcome.is_err() && !partial.is_empty() {
        log.push_assistant(&plan.session.id, &partial, &[], true);
    }
    let final_event = match &outcome {
        Ok(content) => {
            log.push_assistant(&plan.session.id, content, &[], false);
            None
        }
        Err(Stop::Failed(e)) => Some(ChatEvent::Error(e.into())),
        Err(Stop::Timeout) => Some(ChatEvent::Error((&ApiError::Timeout).into())),
        Err(Stop::Shutdown) => Some(ChatEvent::Error((&shutdown_error()).into())),
        Err(Stop::Cancelled) => None,
    };
    let (prompt, completion) = log.totals();
    let mut usage = TurnUsage::default();
    usage.add(prompt, completion);
    let event = final_event.unwrap_or_else(|| {
        ChatEvent::Done(TurnReply {
            content: log.text.clone(),
            session_id: plan.session.id.clone(),
            tools_used: log.tools_used.clone(),
            usage,
        })
    });
    // The last event is also the `webhookUrl` reply, queued in the turn's transaction.
    // A reply that could not be stored is not answered as a success (it would be missing from
    // the session's history and from billing): the turn ends with the store's error instead,
    // 503 `DATABASE_UNAVAILABLE` when the database is out of reach, so the client retries.
    //
    // Boxed here and below: an `async fn`'s state is as large as its largest await point, so
    // the recording (a transaction, the webhook outbox), the context assembly and the start of
    // an inference call (retries, fallback) would otherwise each size the task of every open
    // stream for its whole life (see `future_sizes`).
    let event = match Box::pin(record(&rt, &plan, &log, &outcome, &event)).await {
        Ok(_) => {
            if let Some(from) = &version {
                let sessions = rt.store.sessions();
                sessions.remember_turn(&plan.session.id, from, &log.messages);
            }
            event
        }
        Err(e) => {
            // What is cached may no longer match what is stored.
            rt.store.sessions().forget_window(&plan.session.id);
            tracing::error!(error = ?e, session_id = %plan.session.id, "could not record the turn");
            match event {
                ChatEvent::Done(_) => ChatEvent::Error((&ApiError::from(e)).into()),
                other => other,
            }
        }
    };
    set_presence(&rt, &plan, PresenceState::Idle);
    if !cancel.is_cancelled() {
        let _ = events.send(event).await;
    }
}

/// Logs (at debug level) the bytes of the futures a turn's task is made of, the evidence
/// for what an open stream costs: they are created and dropped, never run.
fn future_sizes(rt: &TurnRuntime, plan: &TurnPlan, events: &mpsc::Sender<ChatEvent>) {
    let mut log = TurnLog::default();
    let outcome: Result<String, Stop> = Ok(String::new());
    let last = ChatEvent::Error((&shutdown_error()).into());
    let record = std::mem::size_of_val(&record(rt, plan, &log, &outcome, &last));
    let context = std::mem::size_of_val(&build_context(rt, plan, &mut log, &mut None));
    let request = ChatRequest {
        model: String::new(),
        messages: Vec::new(),
        tools: Vec::new(),
        max_tokens: None,
        temperature: None,
    };
    let start = std::mem::size_of_val(&chat_stream_traced(
        &rt.providers,
        plan.primary.clone(),
        plan.fallback.clone(),
        &request,
    ));
    let infer = std::mem::size_of_val(&infer(rt, plan, &mut log, events, &request, 0, "turn"));
    let drive = std::mem::size_of_val(&drive(rt, plan, &mut log, &mut None, events));
    tracing::debug!(
        record,
        context,
        start,
        infer,
        drive,
        "turn future sizes (bytes, boxed parts excluded)"
    );
}

fn set_presence(rt: &TurnRuntime, plan: &TurnPlan, presence: PresenceState) {
    rt.presence.set(
        &plan.user_id,
        PresenceEntry {
            agent_id: plan.agent_id.clone(),
            session_id: plan.session.id.clone(),
            surface: plan.session.surface.clone(),
            surface_id: plan.session.surface_id.clone(),
            state: presence,
            since: chrono::Utc::now(),
        },
    );
}

/// The loop proper; returns the turn's text.
async fn drive(
    rt: &TurnRuntime,
    plan: &TurnPlan,
    log: &mut TurnLog,
    version: &mut Option<Version>,
    events: &mpsc::Sender<ChatEvent>,
) -> Result<String, Stop> {
    // One request, grown in place round by round (no copy of the history per call).
    // The tool specs live once, in the request (not also in a copy to restore from): once
    // the rounds run out they are cleared and the turn ends after that call.
    let specs: Vec<ToolSpec> = if plan.max_tool_rounds > 0 {
        plan.tools
            .iter()
            .map(|t| ToolSpec {
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.parameters.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut request = ChatRequest {
        model: plan.primary.model.clone(),
        messages: Box::pin(build_context(rt, plan, log, version)).await?,
        tools: specs,
        max_tokens: Some(plan.max_output_tokens),
        temperature: Some(plan.temperature),
    };
    let has_tools = !request.tools.is_empty();
    let offered: Vec<String> = plan.tools.iter().map(|t| t.name.clone()).collect();
    let ctx = ToolContext::new(
        plan.user_id.as_str(),
        plan.workspace_id.as_str(),
        Some(plan.session.id.clone()),
        plan.agent_id.as_str(),
    );
    let mut round: u32 = 0;
    loop {
        let offer_tools = has_tools && round < plan.max_tool_rounds;
        if !offer_tools {
            request.tools = Vec::new();
        }
        set_presence(rt, plan, PresenceState::Thinking);
        let (text, calls) = infer(rt, plan, log, events, &request, round, "turn").await?;
        if calls.is_empty() || !offer_tools {
            return Ok(text);
        }
        for (index, call) in calls.iter().enumerate() {
            let _ = events
                .send(ChatEvent::ToolCallComplete {
                    index,
                    name: call.name.clone(),
                    arguments: call.arguments.clone(),
                })
                .await;
        }
        log.push_assistant(&plan.session.id, &text, &calls, false);
        let mut assistant = Message::text(Role::Assistant, text);
        assistant.tool_calls = calls.clone();
        request.messages.push(assistant);
        set_presence(rt, plan, PresenceState::Tool);
        let outcomes = execute_round(rt, &ctx, &offered, &calls, rt.tool_timeout, events).await;
        for o in outcomes {
            log.push_tool_result(&plan.session.id, &o, round);
            request.messages.push(Message::tool_result(
                o.call.id.clone(),
                o.call.name.clone(),
                o.content,
            ));
        }
        round += 1;
    }
}

/// One streamed inference call; forwards text and tool-call starts as events.
async fn infer(
    rt: &TurnRuntime,
    plan: &TurnPlan,
    log: &mut TurnLog,
    events: &mpsc::Sender<ChatEvent>,
    request: &ChatRequest,
    round: u32,
    purpose: &'static str,
) -> Result<(String, Vec<ToolCall>), Stop> {
    let (result, attempts) = Box::pin(chat_stream_traced(
        &rt.providers,
        plan.primary.clone(),
        plan.fallback.clone(),
        request,
    ))
    .await;
    let (mut stream, target) = match result {
        Ok(ok) => ok,
        Err(e) => {
            log.failed_attempts.extend(attempts);
            return Err(e.into());
        }
    };
    log.open_call(
        purpose,
        round,
        target,
        attempts,
        estimate_messages(&request.messages),
    );
    let forward = purpose == "turn";
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut streaming = false;
    let mut finish = "stop".to_string();
    while let Some(item) = stream.next().await {
        match item? {
            StreamEvent::TextDelta(delta) => {
                if forward && !streaming {
                    streaming = true;
                    set_presence(rt, plan, PresenceState::Streaming);
                }
                log.push_text(&delta);
                if forward {
                    let _ = events.send(ChatEvent::Content(delta)).await;
                }
            }
            StreamEvent::ToolCallStart { index, id, name } => {
                if forward {
                    let _ = events
                        .send(ChatEvent::ToolCall {
                            index,
                            name: name.clone(),
                            tool_call_id: id.clone(),
                        })
                        .await;
                }
                if calls.len() <= index {
                    calls.resize_with(index + 1, || ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                }
                calls[index].id = id;
                calls[index].name = name;
            }
            StreamEvent::ToolCallDelta { index, arguments } => {
                if let Some(call) = calls.get_mut(index) {
                    call.arguments.push_str(&arguments);
                }
            }
            StreamEvent::Usage(usage) => log.set_usage(usage),
            StreamEvent::Finish { reason } => finish = format!("{reason:?}").to_lowercase(),
        }
    }
    let text = log.open_text().to_string();
    log.close_call(&finish);
    calls.retain(|c| !c.name.is_empty());
    for call in &mut calls {
        if call.id.is_empty() {
            call.id = crate::store::ids::new_id("call");
        }
        if call.arguments.trim().is_empty() {
            call.arguments = "{}".into();
        }
    }
    Ok((text, calls))
}

/// System prompt, summary and history; compacts older history when it nears the window.
async fn build_context(
    rt: &TurnRuntime,
    plan: &TurnPlan,
    log: &mut TurnLog,
    version: &mut Option<Version>,
) -> Result<Vec<Message>, Stop> {
    let session = &plan.session;
    // The session's window from this replica's cache when it holds exactly the state this
    // turn's user message left (see `store::session_window`), else one snapshot read.
    let window = rt
        .store
        .sessions()
        .history_window(
            &session.id,
            session.summary_until,
            HISTORY_LIMIT,
            plan.started_at,
        )
        .await?;
    *version = window.version;
    let rows = window.rows;
    let mut history = history_messages(&rows);
    let mut summary = session.summary.clone();
    let window = u64::from(plan.context_tokens);
    let budget = (window as f64 * COMPACTION_THRESHOLD) as u64;
    let system_len = estimate_messages(&[system_message(&plan.system_prompt, summary.as_deref())]);
    let reserve = u64::from(plan.max_output_tokens).min(window / 4);
    if system_len + estimate_messages(&history) + reserve > budget && rows.len() > KEEP_RECENT {
        // Split the stored rows, not the converted messages, so the summary boundary is a
        // real message timestamp.
        let (older_rows, kept_rows) = rows.split_at(rows.len() - KEEP_RECENT);
        let older = history_messages(older_rows);
        let until = kept_rows.first().map_or(plan.started_at, |r| r.created_at);
        match summarise(rt, plan, log, summary.as_deref(), &older).await {
            Ok(text) => {
                // The store drops the cached window with the old boundary.
                *version = None;
                rt.store
                    .sessions()
                    .set_session_summary(&session.id, &text, until)
                    .await?;
                log.compaction = Some(serde_json::json!({
                    "summarisedMessages": older_rows.len(), "summaryChars": text.len(),
                }));
                summary = Some(text);
                history = history_messages(kept_rows);
            }
            Err(Stop::Failed(e)) => {
                tracing::warn!(error = %e, "compaction failed; trimming history instead");
            }
            Err(other) => return Err(other),
        }
    }
    let system = system_message(&plan.system_prompt, summary.as_deref());
    let history_budget =
        budget.saturating_sub(estimate_messages(std::slice::from_ref(&system)) + reserve);
    // An API client's own conversation comes first; trimming drops its oldest messages first.
    if !plan.client_history.is_empty() {
        history.splice(0..0, plan.client_history.iter().cloned());
    }
    trim_to_budget(&mut history, history_budget);
    let mut messages = Vec::with_capacity(history.len() + 1);
    messages.push(system);
    messages.extend(history);
    Ok(messages)
}

async fn summarise(
    rt: &TurnRuntime,
    plan: &TurnPlan,
    log: &mut TurnLog,
    previous: Option<&str>,
    older: &[Message],
) -> Result<String, Stop> {
    let request = ChatRequest {
        model: plan.primary.model.clone(),
        messages: compaction_request(previous, older),
        tools: Vec::new(),
        max_tokens: Some(plan.max_output_tokens.min(1024)),
        temperature: Some(0.2),
    };
    // Nobody watches a compaction, so it is one non-streaming call (Gemini's and Bedrock's
    // own non-streaming APIs where they have one).
    let (result, attempts) = chat_traced(
        &rt.providers,
        plan.primary.clone(),
        plan.fallback.clone(),
        &request,
    )
    .await;
    let (reply, target) = match result {
        Ok(ok) => ok,
        Err(e) => {
            log.failed_attempts.extend(attempts);
            return Err(e.into());
        }
    };
    log.open_call(
        "compaction",
        0,
        target,
        attempts,
        estimate_messages(&request.messages),
    );
    log.push_text(&reply.content);
    // A zero usage means none was reported: leave it unset so the call is estimated.
    if reply.usage != Usage::default() {
        log.set_usage(reply.usage);
    }
    log.close_call(&format!("{:?}", reply.finish_reason).to_lowercase());
    Ok(reply.content)
}
