//! Gauges set from the scraping app's state just before rendering, and the rendering itself.

use std::sync::atomic::Ordering;

use metrics::gauge;

use super::{cost, names::*, queues::QueueDepths};
use crate::{app::AppState, store::Pool};

/// Sets every gauge from `state` and `depths`, then renders the exposition text.
pub fn render(state: &AppState, depths: QueueDepths) -> String {
    set_gauges(state, depths);
    let mut out = state.metrics.render();
    cost::render(&mut out);
    out
}

fn set_gauges(state: &AppState, depths: QueueDepths) {
    for breaker in state.providers.breakers().snapshot() {
        let open = if breaker.state == "open" { 1.0 } else { 0.0 };
        gauge!(BREAKER_OPEN, "provider" => breaker.provider).set(open);
    }
    gauge!(JOBS_QUEUED).set(depths.jobs_queued as f64);
    gauge!(DELIVERIES_PENDING).set(depths.deliveries_pending as f64);
    gauge!(MONITORS_DUE).set(depths.monitors_due as f64);
    let (size, idle, max) = match state.store.pool() {
        Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    gauge!(DB_CONNECTIONS, "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    gauge!(DB_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    gauge!(DB_MAX_CONNECTIONS).set(f64::from(max));
    gauge!(SSE_STREAMS).set(state.open_streams.load(Ordering::Relaxed) as f64);
    gauge!(WS_CONNECTIONS).set(state.ws_connections.load(Ordering::Relaxed) as f64);
    if let Some(rss) = crate::diagnostics::process::memory().rss_bytes {
        gauge!(PROCESS_RSS).set(rss as f64);
    }
}
