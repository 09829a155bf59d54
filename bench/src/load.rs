//! Load loops recording into HDR histograms.
//!
//! Open loop: requests are due at fixed intervals whatever the server does, and latency counts
//! from the due time (so a stalled server is not hidden by a stalled client: no coordinated
//! omission). Closed loop: N connections each send the next request when the previous answer
//! ends, which measures saturation throughput.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use reqwest::Client;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::client::{Failure, Sample, Target};

/// Largest recordable latency, in microseconds.
const MAX_US: u64 = 300_000_000;
/// Hard cap on requests in one phase, whatever the rate and duration.
const MAX_REQUESTS: u64 = 5_000_000;
/// How long a phase waits for its last requests after its window closed.
const DRAIN: Duration = Duration::from_secs(30);

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl Percentiles {
    fn of(h: &Histogram<u64>) -> Option<Self> {
        (!h.is_empty()).then(|| Self {
            count: h.len(),
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        })
    }
}

/// The outcome of one load phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseStats {
    /// Successful requests.
    pub ok: u64,
    /// Failures by kind.
    pub errors: BTreeMap<String, u64>,
    /// Wall time of the measured window, seconds.
    pub elapsed_s: f64,
    /// Successful requests per second.
    pub throughput: f64,
    /// Total latency of successful requests.
    pub latency: Option<Percentiles>,
    /// Time to first content, for streams.
    pub first_content: Option<Percentiles>,
}

impl PhaseStats {
    /// Total failures.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Histograms and counts of one or more measured windows.
pub struct Recorder {
    total: Histogram<u64>,
    first: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<Failure, u64>,
    elapsed: Duration,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            total: Histogram::new_with_bounds(1, MAX_US, 3)?,
            first: Histogram::new_with_bounds(1, MAX_US, 3)?,
            ok: 0,
            errors: BTreeMap::new(),
            elapsed: Duration::ZERO,
        })
    }

    /// Records a result whose clock started `lag` before the request was sent.
    fn record(&mut self, lag: Duration, r: Result<Sample, Failure>) {
        match r {
            Ok(s) => {
                self.ok += 1;
                self.total.saturating_record(micros(lag + s.total));
                if let Some(f) = s.first_content {
                    self.first.saturating_record(micros(lag + f));
                }
            }
            Err(f) => *self.errors.entry(f).or_default() += 1,
        }
    }

    /// Adds another window's samples and wall time.
    pub fn merge(&mut self, other: &Self) -> anyhow::Result<()> {
        self.total.add(&other.total)?;
        self.first.add(&other.first)?;
        self.ok += other.ok;
        self.elapsed += other.elapsed;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
        Ok(())
    }

    /// Percentiles, throughput over the summed wall time, and errors.
    pub fn finish(&self) -> PhaseStats {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        PhaseStats {
            ok: self.ok,
            errors: self
                .errors
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            elapsed_s: secs,
            throughput: self.ok as f64 / secs,
            latency: Percentiles::of(&self.total),
            first_content: Percentiles::of(&self.first),
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Sends `rate` requests per second for `duration`, latency counted from each due time.
/// When more than `max_in_flight` are outstanding, due requests are skipped as `dropped`.
pub async fn open_loop(
    client: &Client,
    target: &Arc<Target>,
    rate: f64,
    duration: Duration,
    max_in_flight: usize,
) -> anyhow::Result<Recorder> {
    let mut rec = Recorder::new()?;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let total = ((duration.as_secs_f64() * rate) as u64).clamp(1, MAX_REQUESTS);
    let mut set: JoinSet<(Duration, Result<Sample, Failure>)> = JoinSet::new();
    let start = Instant::now();
    let mut i = 0;
    while i < total {
        let now = Instant::now();
        // Issue everything due by now: timer granularity must not lower the rate.
        while i < total {
            let due = start + interval.mul_f64(i as f64);
            if due > now {
                break;
            }
            if set.len() >= max_in_flight {
                rec.record(Duration::ZERO, Err(Failure::Dropped));
            } else {
                let (client, target) = (client.clone(), Arc::clone(target));
                set.spawn(async move {
                    let lag = due.elapsed();
                    (lag, target.call(&client, i).await)
                });
            }
            i += 1;
        }
        while let Some(done) = set.try_join_next() {
            if let Ok((lag, r)) = done {
                rec.record(lag, r);
            }
        }
        if i < total {
            tokio::time::sleep_until((start + interval.mul_f64(i as f64)).into()).await;
        }
    }
    let window = start.elapsed().max(duration);
    let deadline = tokio::time::Instant::now() + DRAIN;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, set.join_next()).await {
        if let Ok((lag, r)) = done {
            rec.record(lag, r);
        }
    }
    for _ in 0..set.len() {
        rec.record(Duration::ZERO, Err(Failure::Timeout));
    }
    set.abort_all();
    rec.elapsed = window;
    Ok(rec)
}

/// Runs `connections` concurrent request loops for `duration`.
pub async fn closed_loop(
    client: &Client,
    target: &Arc<Target>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Recorder> {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut set = JoinSet::new();
    for _ in 0..connections.max(1) {
        let (client, target, counter) = (client.clone(), Arc::clone(target), Arc::clone(&counter));
        let mut rec = Recorder::new()?;
        set.spawn(async move {
            while Instant::now() < end {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_REQUESTS {
                    break;
                }
                let r = target.call(&client, i).await;
                rec.record(Duration::ZERO, r);
            }
            rec
        });
    }
    let mut all = Recorder::new()?;
    let deadline = tokio::time::Instant::from_std(end) + DRAIN;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, set.join_next()).await {
        if let Ok(rec) = done {
            all.merge(&rec)?;
        }
    }
    set.abort_all();
    all.elapsed = start.elapsed();
    Ok(all)
}
