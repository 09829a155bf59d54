//! Keeps an operator's stdio server running: started at boot, restarted with exponential
//! backoff when it exits or cannot start, stopped (its session cancelled, the child killed)
//! when the gateway shuts down.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tokio_util::sync::CancellationToken;

use super::conn::Connection;

/// First restart delay.
const MIN_BACKOFF: Duration = Duration::from_millis(200);
/// Longest restart delay.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A server that ran this long restarts at the first delay again.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Runs until `shutdown`.
pub(super) async fn supervise(conn: Arc<Connection>, shutdown: CancellationToken) {
    let server = conn.spec.id.clone();
    let mut delay = MIN_BACKOFF;
    loop {
        let opened = tokio::select! {
            opened = conn.open() => opened,
            () = shutdown.cancelled() => break,
        };
        match opened {
            Ok(session) => {
                tracing::info!(server = %server, tools = conn.tools().len(), "MCP server started");
                let started = Instant::now();
                let stop = session.cancellation_token();
                let waiting = session.waiting();
                tokio::pin!(waiting);
                let stopping = tokio::select! {
                    _ = &mut waiting => false,
                    () = shutdown.cancelled() => true,
                };
                conn.clear();
                if stopping {
                    stop.cancel();
                    let _ = waiting.await;
                    break;
                }
                tracing::warn!(server = %server, "MCP server exited; restarting");
                if started.elapsed() >= STABLE_AFTER {
                    delay = MIN_BACKOFF;
                }
            }
            Err(e) => tracing::warn!(server = %server, error = %e, "MCP server did not start"),
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {},
            () = shutdown.cancelled() => break,
        }
        delay = (delay * 2).min(MAX_BACKOFF);
    }
    tracing::info!(server = %server, "MCP server stopped");
}
