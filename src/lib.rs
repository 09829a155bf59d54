//! Astra: a self-hosted AI-agent gateway.
//!
//! [`run`] serves the whole HTTP API on a given listener until a shutdown signal; tests bind
//! `127.0.0.1:0` and call it with their own [`config::Config`].

pub mod admin;
pub mod agents;
pub mod api_keys;
pub mod app;
pub mod auth;
pub mod chat;
pub mod cluster;
pub mod config;
pub mod costs;
pub mod credentials;
pub mod diagnostics;
pub mod error;
pub mod heartbeat;
pub mod http;
pub mod jobs;
pub mod mcp;
pub mod mcp_server;
pub mod memory;
pub mod net;
pub mod observability;
pub mod page;
pub mod poll;
pub mod providers;
pub mod rate;
pub mod request_ctx;
pub mod retention;
pub mod sessions;
pub mod skills;
pub mod store;
pub mod tools;
pub mod traces;
pub mod validate;
pub mod webhooks;
pub mod workers;
pub mod workspaces;

use std::{future::Future, net::SocketAddr, sync::Arc, sync::atomic::Ordering, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request},
    middleware::Next,
    response::IntoResponse,
};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::task::TaskTracker;

pub use app::AppState;
pub use config::Config;

/// How long shutdown waits, after in-flight work stopped, for background tasks to store
/// what they did (cut turns recorded, job attempts handed back, the last OTLP flush).
const AFTER_CUT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections may outlive the grace (a cut stream sends its `error` event).
const DRAIN_MARGIN: Duration = Duration::from_secs(5);

/// Builds the state, runs migrations and serves until `shutdown` resolves, then shuts down
/// in order: stop accepting and stop claiming background work (`state.draining`), let
/// running turns and job attempts finish within `ASTRA_SHUTDOWN_GRACE`, then cut what is
/// left (`state.shutdown`: turns saved as incomplete and billed, streams get an `error`
/// event, job attempts handed back), wait for that to be stored, close the database.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    state.store.migrate().await?;
    workers::start(&state)?;
    app::start_cluster(&state);
    state.ready.store(true, Ordering::Release);
    memory::decay::spawn(&state.store, &state.tasks, &state.shutdown);
    state.mcp.start(&state.tasks, &state.shutdown);
    let app = http::router(state.clone());
    let app = limit_concurrency(app, state.config.dos.max_concurrent_requests);
    // Outermost, so every error under /v1 (also the overload 503 above) is in OpenAI's shape.
    let app = app.layer(axum::middleware::from_fn(http::openai::openai_errors));
    let addr = listener.local_addr()?;
    tracing::info!(%addr, engine = state.store.engine(), "astra listening");
    let grace = state.config.shutdown_grace;
    state.tasks.spawn(cut_after_grace(state.clone(), grace));
    let signalled = state.clone();
    serve(
        listener,
        app,
        state.config.dos,
        grace + DRAIN_MARGIN,
        async move {
            tokio::select! {
                () = shutdown => {},
                () = signalled.draining.cancelled() => {},
                () = signalled.shutdown.cancelled() => {},
            }
            // Stop accepting (the caller's loop ends) and stop claiming, in that order.
            signalled.ready.store(false, Ordering::Release);
            signalled.draining.cancel();
            tracing::info!(
                ?grace,
                "draining: no new connections, no new background work"
            );
        },
    )
    .await;
    // Connections are closed; turns without one (webhookUrl, jobs) may still run until
    // `cut_after_grace` cancels `shutdown`.
    state.draining.cancel();
    state.shutdown.cancelled().await;
    state.tasks.close();
    if tokio::time::timeout(AFTER_CUT_TIMEOUT, state.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not finish in time");
    }
    state.store.close().await;
    tracing::info!("astra stopped");
    Ok(())
}

/// Once draining began, waits for the turns and job attempts in flight — at most `grace` —
/// then cancels `state.shutdown`, which cuts whatever still runs.
async fn cut_after_grace(state: AppState, grace: Duration) {
    state.draining.cancelled().await;
    state.in_flight.close();
    tokio::select! {
        () = state.in_flight.wait() => {
            tracing::info!("in-flight turns and jobs finished");
        }
        () = tokio::time::sleep(grace) => {
            tracing::warn!(
                running = state.in_flight.len(),
                "shutdown grace ran out: cutting running turns (saved as incomplete) and handing back job attempts"
            );
        }
        () = state.shutdown.cancelled() => {}
    }
    state.shutdown.cancel();
}

/// Answers 503 `SERVICE_UNAVAILABLE` (with `Retry-After: 1`) at once when `max` requests are
/// already being handled, instead of queueing without bound. A streaming response counts
/// until its handler returned (its body is not held).
fn limit_concurrency(app: Router, max: usize) -> Router {
    let permits = Arc::new(Semaphore::new(max));
    app.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let permits = permits.clone();
            async move {
                let Ok(_permit) = permits.try_acquire_owned() else {
                    let mut res = error::ApiError::Unavailable(
                        "The gateway is handling too many requests; retry shortly".into(),
                    )
                    .into_response();
                    res.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static("1"),
                    );
                    return res;
                };
                next.run(req).await
            }
        },
    ))
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets open connections finish
/// (at most `drain`).
///
/// hyper-util's server rather than `axum::serve`, which has no header-read timeout: a client
/// that trickles its headers (slowloris) or sends nothing is disconnected after
/// `header_read_timeout`, and at most `max_connections` connections are served at once
/// (further ones wait in the listen backlog). HTTP/1 only, so the timeout starts with the
/// connection (and covers idle keep-alive connections too). Connections may be upgraded
/// (`/ws`); the upgrade-capable connection first reads bytes to tell HTTP/1 from the HTTP/2
/// preface, with no time limit of its own, so [`first_bytes`] bounds that wait.
async fn serve(
    listener: TcpListener,
    app: Router,
    limits: config::DosConfig,
    drain: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let connections = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // SSE writes are small: without TCP_NODELAY, Nagle holds each one until the client's
        // delayed ACK, adding ~40 ms to the first `content` event (measured in bench/).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        // Handlers read the peer address through `ConnectInfo<SocketAddr>`, as under axum::serve.
        let service = tower::ServiceExt::map_request(app.clone(), move |mut req: Request<_>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            req
        });
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        connections.spawn(async move {
            if !first_bytes(&tcp, limits.header_read_timeout).await {
                return;
            }
            let conn = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(tcp),
                    TowerToHyperService::new(service),
                )
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            // An upgraded connection (a WebSocket) has left hyper here; `/ws` bounds those.
            drop(slot);
        });
    }
    drop(listener);
    connections.close();
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("open connections did not finish in time");
    }
}

/// Waits at most `limit` for the first bytes of a connection, until they are enough to tell
/// HTTP/1 from the HTTP/2 preface (the first byte, except for a prefix of `PRI * …`); false
/// when the client sent nothing usable in time (slowloris) or the socket failed.
async fn first_bytes(tcp: &tokio::net::TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let wait = async {
        let mut buf = [0u8; PREFACE.len()];
        loop {
            let n = tcp.peek(&mut buf).await?;
            if n == 0 || n == PREFACE.len() || buf[..n] != PREFACE[..n] {
                return Ok::<_, std::io::Error>(());
            }
            // A prefix of the preface: peeking again at once would spin on the same bytes.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    matches!(tokio::time::timeout(limit, wait).await, Ok(Ok(())))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
