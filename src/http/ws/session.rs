//! One socket's life: a reader loop that decodes client frames, starts and cancels turns,
//! forwards their frames and the caller's presence changes, pings and watches for idleness;
//! and a writer that drains a bounded queue into the socket.
//!
//! Memory per socket is bounded: every outgoing frame goes through a queue of
//! `ASTRA_WS_OUTBOUND_BUFFER` frames, and a client that reads so slowly that the queue is full
//! is disconnected at once (its turns are cancelled as if it had left) — the turns' own
//! channels are drained promptly, so a slow reader never holds a turn back either. All of a
//! socket's turns are polled by this one task; the turns themselves run on the task tracker.

use std::{collections::HashMap, time::Duration};

use axum::{
    extract::ws::{Message, WebSocket, close_code},
    http::Method,
};
use futures_util::{
    SinkExt, StreamExt,
    stream::{self, AbortHandle, BoxStream, SelectAll, SplitSink, SplitStream},
};
use tokio::{
    sync::mpsc,
    time::{Instant, MissedTickBehavior},
};

use super::{
    Caller, PATH,
    frames::{
        self, BAD_FRAME, CANCELLED, DUPLICATE_ID, TOO_MANY_TURNS, UNKNOWN_TURN, WsClientFrame,
        WsServerFrame,
    },
    turns::{self, TurnCaller, TurnItem},
};
use crate::{
    app::AppState,
    chat::{presence::PresenceEntry, presence_feed::PresenceSubscription},
    config::WsConfig,
    error::ApiError,
    http::chat::PresenceEntryOut,
};

/// How long a closing socket may take to flush what is queued (the close frame last).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the socket until it closes.
pub(super) async fn run(socket: WebSocket, state: AppState, caller: Caller) {
    let cfg = state.config.ws;
    let (sink, stream) = socket.split();
    let (out, queue) = mpsc::channel(cfg.outbound_buffer);
    // Presence is a read: a key without the `read` scope gets none.
    let may_read = caller.user.api_key.as_ref().is_none_or(|k| k.scopes.read);
    let presence = may_read.then(|| state.presence.subscribe(&caller.user.id));
    let turn_caller = TurnCaller {
        state: state.clone(),
        token: caller.token.expose().to_string(),
        ip: caller.ip,
        workspace: caller.workspace,
    };
    let reader = Reader {
        cfg,
        state,
        caller: turn_caller,
        out,
        running: HashMap::new(),
        next_seq: 0,
        work: SelectAll::new(),
        checking: false,
        last_active: Instant::now(),
        unanswered_pings: 0,
    };
    tracing::debug!("websocket opened");
    let writer = write(sink, queue);
    tokio::pin!(writer);
    tokio::select! {
        // The socket broke while writing: nothing more can reach the client.
        () = &mut writer => {}
        ending = reader.run(stream, presence) => {
            if ending == Ending::Drain {
                let _ = tokio::time::timeout(DRAIN_TIMEOUT, &mut writer).await;
            }
        }
    }
    tracing::debug!("websocket closed");
}

/// The next presence change (never, without a subscription).
async fn next_change(presence: &mut Option<PresenceSubscription>) -> Option<PresenceEntry> {
    match presence {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}

/// Sends queued messages until the queue closes, a send fails or a close frame went out.
async fn write(mut sink: SplitSink<WebSocket, Message>, mut queue: mpsc::Receiver<Message>) {
    while let Some(message) = queue.recv().await {
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
}

/// How the reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Let the writer flush what is queued (a close frame, usually).
    Drain,
    /// Drop the connection now: the peer is gone or reads too slowly.
    Drop,
}

/// What the reader's work set yields.
enum Work {
    /// An item of the turn `seq`.
    Turn {
        id: String,
        seq: u64,
        item: TurnItem,
    },
    /// The turn's stream ended (after its last frame, or when cancelled).
    End { id: String, seq: u64 },
    /// The periodic credential check: `Some(frame)` when they no longer hold.
    Checked(Option<WsServerFrame>),
}

struct Reader {
    cfg: WsConfig,
    state: AppState,
    caller: TurnCaller,
    out: mpsc::Sender<Message>,
    /// Running turns by client id: their sequence number and how to cancel them.
    running: HashMap<String, (u64, AbortHandle)>,
    next_seq: u64,
    /// Turn streams and credential checks, polled together.
    work: SelectAll<BoxStream<'static, Work>>,
    /// A credential check is in flight.
    checking: bool,
    /// The last client frame, or the end of the last turn: the idle timeout counts from it.
    last_active: Instant,
    /// Pings sent since the client was last heard from.
    unanswered_pings: u32,
}

impl Reader {
    async fn run(
        mut self,
        mut stream: SplitStream<WebSocket>,
        mut presence: Option<PresenceSubscription>,
    ) -> Ending {
        let mut pings = tokio::time::interval_at(
            Instant::now() + self.cfg.ping_interval,
            self.cfg.ping_interval,
        );
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let shutdown = self.state.shutdown.clone();
        let mut presence_open = presence.is_some();
        let step = loop {
            let idle_at = self.last_active + self.cfg.idle_timeout;
            let idle = self.running.is_empty();
            let step = tokio::select! {
                () = shutdown.cancelled() => self.close(close_code::AWAY, "server shutting down"),
                message = stream.next() => self.on_message(message),
                Some(work) = self.work.next(), if !self.work.is_empty() => self.on_work(work),
                entry = next_change(&mut presence), if presence_open => match entry {
                    Some(entry) => {
                        let data = serde_json::to_value(PresenceEntryOut::from(entry))
                            .unwrap_or_default();
                        self.send(WsServerFrame::presence(data))
                    }
                    None => {
                        presence_open = false;
                        Ok(())
                    }
                },
                _ = pings.tick() => self.on_ping_tick(),
                () = tokio::time::sleep_until(idle_at), if idle => {
                    self.close(close_code::NORMAL, "idle timeout")
                }
            };
            if let Err(ending) = step {
                break ending;
            }
        };
        // Dropping the work set cancels the turns still running, as a client disconnect.
        step
    }

    /// Queues a frame; a full queue means the client does not keep up: drop it.
    fn send(&self, frame: WsServerFrame) -> Result<(), Ending> {
        self.queue(frame.message())
    }

    fn queue(&self, message: Message) -> Result<(), Ending> {
        self.out.try_send(message).map_err(|_| {
            tracing::info!("websocket client too slow: outbound queue full, disconnecting");
            Ending::Drop
        })
    }

    /// Queues a close frame and stops reading.
    fn close(&self, code: u16, reason: &'static str) -> Result<(), Ending> {
        self.queue(frames::close(code, reason))?;
        Err(Ending::Drain)
    }

    fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Result<(), Ending> {
        let message = match message {
            None => return Err(Ending::Drop),
            Some(Ok(message)) => message,
            Some(Err(e)) => return self.on_read_error(&e),
        };
        self.unanswered_pings = 0;
        match message {
            Message::Text(text) => {
                self.last_active = Instant::now();
                match frames::decode(text.as_str()) {
                    Ok(frame) => self.on_frame(frame),
                    Err(error) => self.send(error),
                }
            }
            Message::Binary(_) => self.send(WsServerFrame::error(
                None,
                BAD_FRAME,
                "binary frames are not supported; send JSON text",
            )),
            // The library answers pings by itself; a pong proves the client alive.
            Message::Ping(_) | Message::Pong(_) => Ok(()),
            Message::Close(_) => {
                // Flushes the library's reply to the client's close frame.
                let _ = self.out.try_send(Message::Close(None));
                Err(Ending::Drain)
            }
        }
    }

    /// A message over the size limit gets 1009; any other read error ends the socket.
    fn on_read_error(&self, error: &axum::Error) -> Result<(), Ending> {
        // The library's capacity error, as it prints itself ("Space limit exceeded: Message
        // too long: …"); axum does not expose the error type.
        if error.to_string().contains("Message too long") {
            tracing::info!(error = %error, "websocket message over the size limit");
            return self.close(close_code::SIZE, "message too big");
        }
        tracing::debug!(error = %error, "websocket read failed");
        Err(Ending::Drop)
    }

    fn on_frame(&mut self, frame: WsClientFrame) -> Result<(), Ending> {
        match frame {
            WsClientFrame::Ping => self.send(WsServerFrame::pong()),
            WsClientFrame::Cancel(cancel) => match self.running.remove(&cancel.id) {
                Some((_, abort)) => {
                    abort.abort();
                    self.turn_ended();
                    let message = "the turn was cancelled by the client";
                    self.send(WsServerFrame::error(Some(&cancel.id), CANCELLED, message))
                }
                None => self.send(WsServerFrame::error(
                    Some(&cancel.id),
                    UNKNOWN_TURN,
                    "no running turn has this id",
                )),
            },
            WsClientFrame::Chat(chat) => {
                if self.running.contains_key(&chat.id) {
                    let message = "a turn with this id is still running";
                    return self.send(WsServerFrame::error(Some(&chat.id), DUPLICATE_ID, message));
                }
                if self.running.len() >= self.cfg.max_turns {
                    let message = "too many turns running on this socket (ASTRA_WS_MAX_TURNS)";
                    return self.send(WsServerFrame::error(
                        Some(&chat.id),
                        TOO_MANY_TURNS,
                        message,
                    ));
                }
                let (seq, id) = (self.next_seq, chat.id.clone());
                self.next_seq += 1;
                let (frames, abort) = stream::abortable(turns::frames(self.caller.clone(), chat));
                self.running.insert(id.clone(), (seq, abort));
                let tagged = {
                    let id = id.clone();
                    frames.map(move |item| Work::Turn {
                        id: id.clone(),
                        seq,
                        item,
                    })
                };
                let end = stream::once(async move { Work::End { id, seq } });
                self.work.push(tagged.chain(end).boxed());
                Ok(())
            }
        }
    }

    fn on_work(&mut self, work: Work) -> Result<(), Ending> {
        match work {
            Work::Turn { id, seq, item } => match item {
                TurnItem::Frame(frame) => {
                    if frame.ends_turn() {
                        self.forget(&id, seq);
                    }
                    self.send(frame)
                }
                TurnItem::Revoked(frame) => self.revoked(frame),
            },
            Work::End { id, seq } => {
                self.forget(&id, seq);
                Ok(())
            }
            Work::Checked(None) => {
                self.checking = false;
                Ok(())
            }
            Work::Checked(Some(frame)) => self.revoked(frame),
        }
    }

    /// Sends the refusal, then closes with 1008.
    fn revoked(&self, frame: WsServerFrame) -> Result<(), Ending> {
        self.send(frame)?;
        self.close(close_code::POLICY, "credentials expired or revoked")
    }

    /// Removes turn `id` if it is still the one numbered `seq` (the id may have been reused
    /// since a cancel).
    fn forget(&mut self, id: &str, seq: u64) {
        if self.running.get(id).is_some_and(|(s, _)| *s == seq) {
            self.running.remove(id);
            self.turn_ended();
        }
    }

    fn turn_ended(&mut self) {
        if self.running.is_empty() {
            self.last_active = Instant::now();
        }
    }

    /// Pings the client (disconnecting it when too many pings went unanswered) and checks
    /// its credentials again.
    fn on_ping_tick(&mut self) -> Result<(), Ending> {
        if self.unanswered_pings >= self.cfg.max_missed_pongs {
            tracing::info!("websocket client stopped answering pings, disconnecting");
            return Err(Ending::Drop);
        }
        self.unanswered_pings += 1;
        self.queue(Message::Ping(Default::default()))?;
        if !self.checking {
            self.checking = true;
            let (state, token) = (self.state.clone(), self.caller.token.clone());
            let check = async move {
                let refused = match turns::authenticate(&state, &token, Method::GET, PATH).await {
                    Ok(_) => None,
                    Err(e @ ApiError::Unauthorized(_)) => {
                        Some(WsServerFrame::api_error(None, &e, None))
                    }
                    // A database hiccup is not a revocation; the next tick checks again.
                    Err(e) => {
                        tracing::warn!(error = %e, "websocket credential check failed");
                        None
                    }
                };
                Work::Checked(refused)
            };
            self.work.push(stream::once(check).boxed());
        }
        Ok(())
    }
}
