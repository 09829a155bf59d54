//! Gauges set from the scraping app's readings just before rendering, and the rendering itself.

use metrics::gauge;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{cost, names::*, queues::QueueDepths};
use crate::store::Pool;

/// What the gauges read from the scraping app (the HTTP layer fills it from its state).
pub struct Readings<'a> {
    /// The process-wide recorder to render.
    pub metrics: &'a PrometheusHandle,
    /// The database pool: connections in use and idle.
    pub pool: &'a Pool,
    /// Every provider's breaker: its id and whether it is open.
    pub breakers: Vec<(String, bool)>,
    /// Currently open streaming connections (SSE).
    pub open_streams: i64,
    /// Currently open WebSocket connections (`/ws`).
    pub ws_connections: i64,
    /// Queue depths.
    pub depths: QueueDepths,
}

/// Sets every gauge from `readings`, then renders the exposition text.
pub fn render(readings: Readings<'_>) -> String {
    set_gauges(&readings);
    let mut out = readings.metrics.render();
    cost::render(&mut out);
    out
}

fn set_gauges(r: &Readings<'_>) {
    for (provider, open) in &r.breakers {
        let open = if *open { 1.0 } else { 0.0 };
        gauge!(BREAKER_OPEN, "provider" => provider.clone()).set(open);
    }
    gauge!(JOBS_QUEUED).set(r.depths.jobs_queued as f64);
    gauge!(DELIVERIES_PENDING).set(r.depths.deliveries_pending as f64);
    gauge!(MONITORS_DUE).set(r.depths.monitors_due as f64);
    gauge!(MEMORY_EMBED_BACKLOG).set(r.depths.memory_embed_backlog as f64);
    gauge!(MEMORY_EMBED_LAG).set(r.depths.memory_embed_lag_seconds as f64);
    let (size, idle, max) = match r.pool {
        Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    gauge!(DB_CONNECTIONS, "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(DB_MAX_CONNECTIONS).set(f64::from(max));
    gauge!(SSE_STREAMS).set(r.open_streams as f64);
    gauge!(WS_CONNECTIONS).set(r.ws_connections as f64);
    if let Some(rss) = super::process::memory().rss_bytes {
        gauge!(PROCESS_RSS).set(rss as f64);
    }
}
