//! A started turn and the three ways to consume it: the folded reply, the event stream, or
//! detached (a `webhookUrl` turn, whose recording queues the reply).

use futures_util::Stream;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};
use tracing::Instrument;

use crate::chat::{
    events::{ApiErrorData, ChatEvent, Fold, TurnReply},
    plan::TurnPlan,
    runner::run_turn,
    runtime::TurnRuntime,
};

/// Events buffered between the loop and its consumer.
const EVENT_BUFFER: usize = 64;

/// A failed turn: the HTTP status it maps to and its error body (`code`, `message`, extras).
pub type TurnFailure = ApiErrorData;

/// How a turn ended: its reply, or why it failed.
pub type TurnResult = Result<TurnReply, TurnFailure>;

/// A turn running on the task tracker. Dropping it (or what it turned into) cancels the turn
/// as a client disconnect; the turn still records what it did.
pub struct RunningTurn {
    session_id: String,
    request_id: Option<String>,
    events: mpsc::Receiver<ChatEvent>,
    cancel: DropGuard,
}

impl RunningTurn {
    /// Spawns the loop of `plan`.
    pub(super) fn spawn(rt: TurnRuntime, plan: TurnPlan) -> Self {
        // The turn outlives the request span; its own span carries the ids every log line
        // needs.
        let span = tracing::info_span!(
            "turn",
            request_id = plan.request_id.as_deref().unwrap_or_default(),
            session_id = %plan.session.id,
            trace_id = %plan.trace_id,
            agent_id = %plan.agent_id,
        );
        let session_id = plan.session.id.clone();
        let request_id = plan.request_id.clone();
        let tasks = rt.tasks.clone();
        Self::spawn_task(&tasks, session_id, request_id, span, move |tx, cancel| {
            run_turn(rt, plan, tx, cancel)
        })
    }

    /// Runs `work` on the task tracker as a turn: it sends its events (ending with `done` or
    /// `error`) into the channel and stops when the token is cancelled, which happens when
    /// the returned value is dropped. The agent loop and the pass-through completion of
    /// `/v1` (`chat::openai::passthrough`) both run this way.
    pub(crate) fn spawn_task<F, Fut>(
        tasks: &TaskTracker,
        session_id: String,
        request_id: Option<String>,
        span: tracing::Span,
        work: F,
    ) -> Self
    where
        F: FnOnce(mpsc::Sender<ChatEvent>, CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        let cancel = CancellationToken::new();
        let task = work(tx, cancel.clone()).instrument(span);
        // What each running turn (each open stream) holds in its task, besides its heap data.
        tracing::debug!(bytes = std::mem::size_of_val(&task), "turn task future");
        tasks.spawn(task);
        Self {
            session_id,
            request_id,
            events,
            cancel: cancel.drop_guard(),
        }
    }

    /// The session the turn runs in.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Waits for the end of the turn and folds its events into the reply; a failure's body
    /// quotes the request id the turn was planned under.
    pub async fn reply(self) -> TurnResult {
        let Self {
            request_id,
            events,
            cancel,
            ..
        } = self;
        let result = fold(events).await;
        drop(cancel);
        result.map_err(|mut failure| {
            if let Some(id) = request_id {
                failure.body["requestId"] = Value::String(id);
            }
            failure
        })
    }

    /// The turn's events as they happen (`session_resolved` … `done` or `error`); dropping
    /// the stream cancels the turn.
    pub fn into_events(self) -> impl Stream<Item = ChatEvent> + Send + 'static {
        futures_util::stream::unfold((self.events, self.cancel), |(mut rx, guard)| async move {
            rx.recv().await.map(|event| (event, (rx, guard)))
        })
    }

    /// Lets the turn finish on its own: nobody waits for it, so the end of the request does
    /// not cancel it. A `webhookUrl` turn is consumed this way; its recording queues the reply
    /// (see [`crate::chat::reply_webhook`]), which the webhook delivery worker sends.
    pub fn detach(self) {
        let _token = self.cancel.disarm();
        // The loop ignores events nobody receives.
        drop(self.events);
    }
}

/// Collects the events until the loop closes the channel.
async fn fold(mut events: mpsc::Receiver<ChatEvent>) -> TurnResult {
    let mut fold = Fold::default();
    while let Some(event) = events.recv().await {
        fold.push(event);
    }
    fold.finish()
}
