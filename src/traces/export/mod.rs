//! The OTLP/HTTP exporter (`ASTRA_OTLP_ENDPOINT`): every finished turn's spans — the same
//! ones `GET /traces/:id?format=otlp` shows — are sent to a collector as OTLP/JSON, off the
//! request path.
//!
//! The turn only converts its trace and offers the spans to a bounded queue with `try_send`;
//! when the queue is full the spans are dropped and counted (`astra_otlp_spans_total
//! {outcome="dropped"}`), so a slow or dead collector never holds up a reply or grows memory.
//! One batcher task on the app's task tracker drains the queue and POSTs a batch once it
//! holds `ASTRA_OTLP_BATCH_SPANS` spans or its oldest span waited `ASTRA_OTLP_FLUSH_MS`
//! ([`batcher`]); failed requests are retried a little ([`send`]). On shutdown the batcher
//! sends what is queued once more and stops.
//!
//! The endpoint is operator configuration, never tenant input, and collectors usually sit
//! on a private network (`http://collector:4318`), so the outbound private-address guard
//! that protects against tenant-chosen URLs does not apply: the client is the house's
//! guarded builder with private addresses allowed and redirects refused.

mod batcher;
mod send;

use std::sync::Mutex;

use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{otlp::Span, spans};
use crate::{
    config::OtlpConfig,
    observability::{self, OtlpOutcome},
    store::TraceRow,
};

/// The exporter's handle, held by the app state; inert when no endpoint is configured.
pub struct Exporter {
    inner: Option<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Vec<Span>>,
    /// Taken once by [`Exporter::start`].
    pending: Mutex<Option<batcher::Batcher>>,
}

impl Exporter {
    /// The exporter of `cfg` (inert without an endpoint); fails when the HTTP client cannot
    /// be built or a header is invalid.
    pub fn new(cfg: &OtlpConfig) -> anyhow::Result<Self> {
        let Some(url) = &cfg.endpoint else {
            return Ok(Self { inner: None });
        };
        let sender = send::Sender::new(url.clone(), &cfg.headers, cfg.timeout)?;
        let (queue, rx) = mpsc::channel(cfg.queue_turns.max(1));
        let batcher = batcher::Batcher::new(rx, sender, cfg.batch_spans, cfg.flush_interval);
        Ok(Self {
            inner: Some(Inner {
                queue,
                pending: Mutex::new(Some(batcher)),
            }),
        })
    }

    /// True when an endpoint is configured.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Offers a finished turn's spans to the queue without waiting; when the queue is full
    /// (or the batcher has stopped) they are dropped and counted.
    pub fn push(&self, trace: &TraceRow) {
        let Some(inner) = &self.inner else {
            return;
        };
        let spans = spans::of(trace);
        let count = spans.len();
        if inner.queue.try_send(spans).is_err() {
            observability::otlp_spans(OtlpOutcome::Dropped, count);
            tracing::debug!(spans = count, "OTLP queue full: spans dropped");
        }
    }

    /// Starts the batcher on `tasks` (once; later calls do nothing). It stops, after a last
    /// send of what is queued, when `shutdown` is cancelled.
    pub fn start(&self, tasks: &TaskTracker, shutdown: CancellationToken) {
        let Some(inner) = &self.inner else {
            return;
        };
        let batcher = inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(batcher) = batcher {
            tasks.spawn(batcher.run(shutdown));
        }
    }
}
