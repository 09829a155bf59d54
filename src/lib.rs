//! Astra: a self-hosted AI-agent gateway.
//!
//! [`run`] serves the whole HTTP API on a given listener until a shutdown signal; tests bind
//! `127.0.0.1:0` and call it with their own [`config::Config`].

pub mod agents;
pub mod app;
pub mod auth;
pub mod chat;
pub mod config;
pub mod credentials;
pub mod diagnostics;
pub mod error;
pub mod heartbeat;
pub mod http;
pub mod jobs;
pub mod memory;
pub mod net;
pub mod providers;
pub mod skills;
pub mod store;
pub mod tools;
pub mod webhooks;
pub mod workers;
pub mod workspaces;

use std::{future::Future, sync::atomic::Ordering, time::Duration};

use tokio::net::TcpListener;

pub use app::AppState;
pub use config::Config;

/// How long shutdown waits for background tasks after the server stopped accepting.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Builds the state, runs migrations and serves until `shutdown` resolves, then drains.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::build(config).await?;
    state.store.migrate().await?;
    workers::start(&state)?;
    state.ready.store(true, Ordering::Release);
    memory::decay::spawn(&state);
    let app = http::router(state.clone());
    let addr = listener.local_addr()?;
    tracing::info!(%addr, engine = state.store.engine(), "astra listening");
    let cancel = state.shutdown.clone();
    // SSE writes are small: without TCP_NODELAY, Nagle holds each one until the client's
    // delayed ACK, adding ~40 ms to the first `content` event (measured in bench/).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            () = shutdown => {},
            () = cancel.cancelled() => {},
        }
    })
    .await?;
    state.ready.store(false, Ordering::Release);
    state.shutdown.cancel();
    state.tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, state.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not finish in time");
    }
    state.store.close().await;
    tracing::info!("astra stopped");
    Ok(())
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
