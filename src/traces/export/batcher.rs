//! The batcher: drains the queue of finished turns and sends their spans in batches of at
//! most `batch` spans, as soon as `batch` are there or `flush` after the oldest arrived.

use std::time::Duration;

use tokio::{
    sync::mpsc,
    time::{Instant, sleep_until},
};
use tokio_util::sync::CancellationToken;

use super::send::{Retry, Sender};
use crate::traces::otlp::Span;

/// The batcher task's state, built with the exporter and run by [`super::Exporter::start`].
pub(super) struct Batcher {
    rx: mpsc::Receiver<Vec<Span>>,
    sender: Sender,
    batch: usize,
    flush: Duration,
}

impl Batcher {
    pub(super) fn new(
        rx: mpsc::Receiver<Vec<Span>>,
        sender: Sender,
        batch: usize,
        flush: Duration,
    ) -> Self {
        Self {
            rx,
            sender,
            batch: batch.max(1),
            flush,
        }
    }

    /// Runs until `shutdown`; then closes the queue (later turns are counted as dropped),
    /// sends what it holds once, without retries, and returns.
    pub(super) async fn run(mut self, shutdown: CancellationToken) {
        let mut buf: Vec<Span> = Vec::new();
        // When the oldest buffered span must be sent at the latest.
        let mut due: Option<Instant> = None;
        loop {
            let flush_at = due;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                item = self.rx.recv() => {
                    let Some(spans) = item else { break };
                    if buf.is_empty() {
                        due = Some(Instant::now() + self.flush);
                    }
                    buf.extend(spans);
                    if buf.len() >= self.batch {
                        self.send_all(&mut buf, Retry::Yes(&shutdown)).await;
                        due = None;
                    }
                }
                () = sleep_until(flush_at.unwrap_or_else(Instant::now)), if flush_at.is_some() => {
                    self.send_all(&mut buf, Retry::Yes(&shutdown)).await;
                    due = None;
                }
            }
        }
        self.rx.close();
        while let Ok(spans) = self.rx.try_recv() {
            buf.extend(spans);
        }
        self.send_all(&mut buf, Retry::No).await;
        tracing::debug!("OTLP exporter stopped");
    }

    /// Sends everything in `buf`, `batch` spans per request.
    async fn send_all(&self, buf: &mut Vec<Span>, retry: Retry<'_>) {
        while !buf.is_empty() {
            let rest = buf.split_off(self.batch.min(buf.len()));
            let batch = std::mem::replace(buf, rest);
            self.sender.send(batch, retry).await;
        }
    }
}
