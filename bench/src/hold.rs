//! Many concurrent, mostly idle SSE streams: open N (ramped), wait until each has delivered its
//! first content delta, hold them while sampling the server's RSS, then close them all.
//! Per-stream memory = (RSS while holding − RSS before) / streams established.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};

use crate::{
    client::{Dialect, Signal, SseScanner},
    procs,
};

/// Streams started per ramp step, and the step's length.
const RAMP_BATCH: usize = 250;
const RAMP_STEP: Duration = Duration::from_millis(100);
/// Longest wait for all streams to deliver their first content.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(90);
/// How long the established streams are held while RSS is sampled.
const HOLD: Duration = Duration::from_secs(3);

/// Builds the request for stream `i`.
pub type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// The outcome of one hold.
#[derive(Debug, Clone, Serialize)]
pub struct HoldStats {
    /// Streams asked for.
    pub requested: usize,
    /// Streams that delivered a first content delta.
    pub established: usize,
    /// Streams that failed before their first content.
    pub failed: usize,
    /// Failures by kind.
    pub errors: BTreeMap<String, usize>,
    /// Streams established that ended before being released (the fake's stream was too short,
    /// or the server cut it).
    pub ended_early: usize,
    /// Seconds from the first request to the last stream established.
    pub establish_s: f64,
    /// Server RSS before opening, KiB.
    pub rss_before_kib: u64,
    /// Server RSS while all established streams were open, KiB.
    pub rss_hold_kib: u64,
    /// Server peak RSS during the hold phase, KiB.
    pub rss_peak_kib: u64,
    /// Server RSS two seconds after all streams were closed, KiB.
    pub rss_after_kib: u64,
    /// (rss_hold − rss_before) / established, KiB.
    pub per_stream_kib: f64,
    /// Server CPU seconds over the whole hold.
    pub cpu_s: f64,
}

enum Event {
    Established,
    Failed(String),
    /// Established, then ended before release.
    Ended,
}

async fn one_stream(
    rb: reqwest::RequestBuilder,
    dialect: Dialect,
    tx: mpsc::UnboundedSender<Event>,
    mut release: watch::Receiver<bool>,
) {
    let resp = match rb.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            let _ = tx.send(Event::Failed(format!("http_{}", r.status().as_u16())));
            return;
        }
        Err(e) => {
            let kind = if e.is_connect() {
                "connect"
            } else if e.is_timeout() {
                "timeout"
            } else {
                "transport"
            };
            let _ = tx.send(Event::Failed(kind.into()));
            return;
        }
    };
    let mut scanner = SseScanner::new(dialect);
    let mut body = resp.bytes_stream();
    let mut established = false;
    loop {
        tokio::select! {
            _ = release.changed() => return,
            chunk = body.next() => {
                let Some(Ok(chunk)) = chunk else { break };
                let mut bad = false;
                scanner.feed(&chunk, |s| match s {
                    Signal::Content => {
                        if !established {
                            established = true;
                            let _ = tx.send(Event::Established);
                        }
                    }
                    Signal::Error => bad = true,
                    Signal::Done => {}
                });
                if bad { break; }
            }
        }
    }
    let _ = tx.send(if established {
        Event::Ended
    } else {
        Event::Failed("ended_before_content".into())
    });
}

/// Opens `n` streams built by `make`, holds them, then closes them; `pid` is the server sampled.
pub async fn hold(
    client: &reqwest::Client,
    make: &MakeRequest,
    dialect: Dialect,
    n: usize,
    pid: u32,
) -> HoldStats {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (release_tx, release_rx) = watch::channel(false);
    let rss_before = procs::rss_kib(pid).map_or(0, |r| r.0);
    let cpu0 = procs::cpu_seconds(pid).unwrap_or(0.0);
    procs::reset_peak(pid);
    let start = Instant::now();
    let mut set = JoinSet::new();
    let (mut established, mut failed, mut ended, mut peak) = (0usize, 0usize, 0usize, rss_before);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut last_established = start;
    let mut errors = BTreeMap::new();
    while established + failed < n && start.elapsed() < ESTABLISH_TIMEOUT {
        let allowed =
            ((start.elapsed().as_millis() / RAMP_STEP.as_millis()) as usize + 1) * RAMP_BATCH;
        while set.len() < n.min(allowed) {
            let rb = make(client, set.len());
            set.spawn(one_stream(rb, dialect, tx.clone(), release_rx.clone()));
        }
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Established) => { established += 1; last_established = Instant::now(); }
                Some(Event::Failed(kind)) => { failed += 1; *errors.entry(kind).or_default() += 1; }
                Some(Event::Ended) => ended += 1,
                None => break,
            },
            _ = tick.tick() => {
                if let Some((rss, _)) = procs::rss_kib(pid) { peak = peak.max(rss); }
            }
        }
    }
    let hold_end = Instant::now() + HOLD;
    let mut rss_hold = 0;
    while Instant::now() < hold_end {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(Event::Failed(kind)) => { failed += 1; *errors.entry(kind).or_default() += 1; }
                Some(Event::Ended) => ended += 1,
                _ => {}
            },
            _ = tick.tick() => {
                if let Some((rss, _)) = procs::rss_kib(pid) { peak = peak.max(rss); rss_hold = rss; }
            }
        }
    }
    if let Some((_, hwm)) = procs::rss_kib(pid) {
        peak = peak.max(hwm);
    }
    let _ = release_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while set.join_next().await.is_some() {}
    })
    .await;
    set.abort_all();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = procs::rss_kib(pid).map_or(0, |r| r.0);
    HoldStats {
        requested: n,
        established,
        failed,
        errors,
        ended_early: ended,
        establish_s: (last_established - start).as_secs_f64(),
        rss_before_kib: rss_before,
        rss_hold_kib: rss_hold,
        rss_peak_kib: peak,
        rss_after_kib: rss_after,
        per_stream_kib: if established > 0 {
            rss_hold.saturating_sub(rss_before) as f64 / established as f64
        } else {
            0.0
        },
        cpu_s: procs::cpu_seconds(pid).unwrap_or(cpu0) - cpu0,
    }
}
