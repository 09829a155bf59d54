//! What replicas sharing one PostgreSQL coordinate through it: cache invalidations
//! (`LISTEN/NOTIFY` on [`CHANNEL`], sent after the change committed), the secrets every
//! replica must share (`cluster_secrets`), and advisory locks so hourly maintenance runs on one
//! replica at a time. On SQLite (one process) invalidations stay local and locks always succeed.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_util::sync::CancellationToken;

use super::{Pool, Store};
use crate::with_pool;

/// The `NOTIFY` channel of cache invalidations.
pub const CHANNEL: &str = "astra_invalidate";

/// A committed change other replicas must drop from their caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "camelCase")]
pub enum Invalidation {
    /// Roles in a workspace changed (a member added, removed or re-roled; `user` = one member).
    Roles {
        /// Workspace id.
        ws: String,
        /// The member, or every member when `None`.
        user: Option<String>,
    },
    /// Agents (or their memory profiles) of a workspace changed.
    Agents {
        /// Workspace id.
        ws: String,
    },
    /// A workspace row changed (name, settings, provider/model restrictions).
    Workspace {
        /// Workspace id.
        ws: String,
    },
    /// A user's token version was bumped (logout, refresh-family revocation).
    TokenVersion {
        /// User id.
        user: String,
    },
    /// Everything (notices may have been missed: the LISTEN connection was lost).
    All,
}

/// The wire form: the invalidation and the replica it came from.
#[derive(Serialize, Deserialize)]
struct Notice {
    /// Origin replica (its own notices are skipped).
    o: String,
    /// The invalidation.
    i: Invalidation,
}

impl Store {
    /// Sends every later invalidation of this store to the other replicas (PostgreSQL only);
    /// returns the receiver to hand to [`Store::run_notifier`]. `None` on SQLite.
    pub fn enable_cluster_notices(&self) -> Option<UnboundedReceiver<Invalidation>> {
        if !matches!(self.pool, Pool::Postgres(_)) {
            return None;
        }
        let (tx, rx) = unbounded_channel();
        self.cache.outbox.set(tx).ok()?;
        Some(rx)
    }

    /// Tells the other replicas about a committed change (no-op without cluster notices).
    pub fn publish(&self, invalidation: Invalidation) {
        if let Some(tx) = self.cache.outbox.get() {
            // Closed only at shutdown, when nothing needs telling any more.
            let _ = tx.send(invalidation);
        }
    }

    /// Drops what `invalidation` names from this replica's store caches.
    pub fn apply_invalidation(&self, invalidation: &Invalidation) {
        let caches = &self.cache;
        match invalidation {
            Invalidation::Roles { ws, user } => caches
                .roles
                .forget_where(|(w, u)| w == ws && user.as_ref().is_none_or(|id| id == u)),
            Invalidation::Agents { ws } => caches.agents.forget_where(|(w, _)| w == ws),
            Invalidation::Workspace { ws } => caches.workspaces.forget_where(|k| k == ws),
            Invalidation::TokenVersion { .. } => {}
            Invalidation::All => self.clear_caches(),
        }
    }

    /// Drops every cached row (after notices may have been missed, e.g. a lost connection).
    pub fn clear_caches(&self) {
        let caches = &self.cache;
        caches.roles.forget_where(|_| true);
        caches.agents.forget_where(|_| true);
        caches.workspaces.forget_where(|_| true);
        caches.users.forget_where(|_| true);
    }

    /// Sends queued invalidations as `NOTIFY` until shutdown (PostgreSQL).
    pub async fn run_notifier(
        &self,
        origin: String,
        mut rx: UnboundedReceiver<Invalidation>,
        shutdown: CancellationToken,
    ) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        loop {
            let next = tokio::select! {
                n = rx.recv() => n,
                () = shutdown.cancelled() => None,
            };
            let Some(invalidation) = next else { break };
            let notice = Notice {
                o: origin.clone(),
                i: invalidation,
            };
            let Ok(payload) = serde_json::to_string(&notice) else {
                continue;
            };
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&payload)
                .execute(pool)
                .await;
            if let Err(e) = sent {
                // The other replicas' caches expire within their TTL anyway.
                tracing::warn!(error = %e, "cluster: cache invalidation not sent");
            }
        }
    }

    /// Listens for other replicas' invalidations until shutdown, handing each to `apply`
    /// (PostgreSQL). After a lost connection every cache is dropped ([`Invalidation::All`]).
    pub async fn run_listener(
        &self,
        origin: String,
        apply: impl Fn(&Invalidation) + Send,
        shutdown: CancellationToken,
    ) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        let mut listener = loop {
            match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut l) => match l.listen(CHANNEL).await {
                    Ok(()) => break l,
                    Err(e) => tracing::warn!(error = %e, "cluster: LISTEN failed"),
                },
                Err(e) => tracing::warn!(error = %e, "cluster: LISTEN connection failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        };
        loop {
            let next = tokio::select! {
                n = listener.try_recv() => n,
                () = shutdown.cancelled() => break,
            };
            match next {
                Ok(Some(n)) => match serde_json::from_str::<Notice>(n.payload()) {
                    Ok(notice) if notice.o != origin => {
                        self.apply_invalidation(&notice.i);
                        apply(&notice.i);
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "cluster: unreadable notice"),
                },
                // The connection was lost (and is re-established by the next call): what was
                // sent meanwhile is gone, so nothing cached may be trusted.
                Ok(None) => {
                    tracing::warn!("cluster: LISTEN connection lost; dropping caches");
                    self.apply_invalidation(&Invalidation::All);
                    apply(&Invalidation::All);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: LISTEN failed; retrying");
                    self.apply_invalidation(&Invalidation::All);
                    apply(&Invalidation::All);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// The shared secret `name`: the stored one, or `fresh` stored now when there is none yet
    /// (the first replica to start wins; the others read its value).
    pub async fn cluster_secret(&self, name: &str, fresh: &str) -> Result<String, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO cluster_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(fresh).bind(super::stored_now())
                .execute(p).await?;
            sqlx::query_scalar("SELECT value FROM cluster_secrets WHERE name = $1")
                .bind(name).fetch_one(p).await
        })
    }

    /// Runs maintenance `name` exclusively across replicas: `None` while another replica
    /// holds it (PostgreSQL advisory lock, released by [`Exclusive::release`]); always granted
    /// on SQLite.
    pub async fn try_exclusive(&self, name: &str) -> Result<Option<Exclusive>, sqlx::Error> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(Some(Exclusive(None)));
        };
        let mut tx = pool.begin().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
            .bind(format!("astra:{name}"))
            .fetch_one(&mut *tx)
            .await?;
        Ok(got.then_some(Exclusive(Some(tx))))
    }
}

/// An exclusive right held by [`Store::try_exclusive`] (an open transaction holding a
/// transaction-level advisory lock on PostgreSQL).
pub struct Exclusive(Option<Transaction<'static, Postgres>>);

impl Exclusive {
    /// Gives the right up (ends the transaction, releasing the lock).
    pub async fn release(self) {
        if let Some(tx) = self.0
            && let Err(e) = tx.rollback().await
        {
            tracing::debug!(error = %e, "cluster: advisory lock release");
        }
    }
}

/// The sender half kept by [`super::cache::StoreCaches`].
pub(super) type Outbox = std::sync::OnceLock<UnboundedSender<Invalidation>>;
