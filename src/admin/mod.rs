//! Operator views behind `/admin/*`: process health, every agent across workspaces, and one
//! user's billing, active sessions and audit trail.

use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::Instant,
};

use crate::{
    agents::{AgentView, GlobalAgents},
    chat::presence::Presence,
    cluster::{Redis, heartbeat, load},
    costs::{self, MonthBilling},
    diagnostics::process::{self, ProcessMemory},
    error::{ApiError, ApiResult},
    page::Page,
    skills::SkillRegistry,
    store::{AuditRow, SessionFilter, SessionRow, Store, UserRow},
    tools::ToolRegistry,
};

/// What the health view reads: the database and the gateway's own parts.
#[derive(Clone, Copy)]
pub struct HealthEnv<'a> {
    /// Database.
    pub store: &'a Store,
    /// Process start, for uptime.
    pub started_at: Instant,
    /// Live agent states (busy agents).
    pub presence: &'a Presence,
    /// Currently open streaming connections (SSE).
    pub open_streams: &'a AtomicI64,
    /// Registered tools.
    pub tools: &'a ToolRegistry,
    /// Registered skills.
    pub skills: &'a SkillRegistry,
    /// Agents from `astra.yml`.
    pub globals: &'a GlobalAgents,
    /// This replica's id (`ASTRA_REPLICA_ID`).
    pub replica_id: &'a str,
    /// The cluster's Redis, if any.
    pub redis: Option<&'a Redis>,
}

/// The cluster as this replica sees it through Redis.
#[derive(Debug, Clone)]
pub struct ClusterHealth {
    /// Redis answered.
    pub redis_ok: bool,
    /// Replicas whose heartbeat is under a minute old (this one included), sorted.
    pub replicas: Vec<String>,
    /// Agents running a turn and open SSE streams summed over those replicas (each
    /// publishes its own within 200 ms of a change).
    pub load: load::Load,
}

/// What the gateway process looks like right now.
#[derive(Debug, Clone)]
pub struct Health {
    /// The database answered a ping.
    pub db_ok: bool,
    /// Time of that ping, in milliseconds.
    pub db_latency_ms: f64,
    /// `sqlite` or `postgres`.
    pub engine: &'static str,
    /// Seconds since start-up.
    pub uptime_seconds: u64,
    /// Resident memory.
    pub memory: ProcessMemory,
    /// Active sessions; `None` when the database could not say.
    pub active_sessions: Option<i64>,
    /// Agents running a turn.
    pub busy_agents: usize,
    /// Open SSE streams.
    pub open_streams: i64,
    /// Registered tools.
    pub tools: usize,
    /// Registered skills.
    pub skills: usize,
    /// Agents from `astra.yml`.
    pub global_agents: usize,
    /// Memory chunks waiting to be embedded and the age of the oldest in seconds (the
    /// progress of a re-embedding); `None` when the database could not say.
    pub memory_index: Option<(i64, i64)>,
    /// The pgvector extension (`installed`, `available`, `absent`; `None` on SQLite or when
    /// the database could not say): detected, never used (vectors are ranked in Rust).
    pub pgvector: Option<&'static str>,
    /// This replica's id.
    pub replica_id: String,
    /// The cluster view; `None` without Redis.
    pub cluster: Option<ClusterHealth>,
}

/// Reads the process's health. A dead database is reported, not raised: this must answer
/// when things are bad.
pub async fn health(env: &HealthEnv<'_>) -> Health {
    let started = Instant::now();
    let db_ok = env.store.ping().await;
    let db_latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let pgvector = if db_ok {
        env.store
            .memory_vectors()
            .vector_extension()
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let (active_sessions, memory_index) = if db_ok {
        let backlog = env.store.memory_vectors().backlog().await.ok();
        let now = chrono::Utc::now();
        (
            env.store.admin().active_session_count().await.ok(),
            backlog.map(|(n, oldest)| {
                (
                    n,
                    oldest.map(|t| (now - t).num_seconds().max(0)).unwrap_or(0),
                )
            }),
        )
    } else {
        (None, None)
    };
    let cluster = match env.redis {
        Some(redis) => Some(cluster_health(redis).await),
        None => None,
    };
    Health {
        db_ok,
        db_latency_ms,
        engine: env.store.engine(),
        uptime_seconds: env.started_at.elapsed().as_secs(),
        memory: process::memory(),
        active_sessions,
        busy_agents: env.presence.busy_count(),
        open_streams: env.open_streams.load(Ordering::Relaxed),
        tools: env.tools.list().len(),
        skills: env.skills.list().len(),
        global_agents: env.globals.len(),
        memory_index,
        pgvector,
        replica_id: env.replica_id.to_string(),
        cluster,
    }
}

/// The cluster as seen through Redis; `redis_ok: false` (and nothing else) when it failed.
async fn cluster_health(redis: &Redis) -> ClusterHealth {
    let seen = match heartbeat::seen(redis).await {
        Ok(replicas) => load::cluster(redis, &replicas)
            .await
            .map(|load| (replicas, load)),
        Err(e) => Err(e),
    };
    match seen {
        Ok((replicas, load)) => ClusterHealth {
            redis_ok: true,
            replicas,
            load,
        },
        Err(_) => ClusterHealth {
            redis_ok: false,
            replicas: Vec::new(),
            load: load::Load::default(),
        },
    }
}

/// One page of every agent: the global ones (sorted by id) first, then each workspace's;
/// with the total.
pub async fn agents(
    store: &Store,
    globals: &GlobalAgents,
    page: Page,
) -> ApiResult<(Vec<AgentView>, i64)> {
    let mut views: Vec<AgentView> = globals
        .all()
        .map(|g| AgentView::global(g, globals))
        .collect();
    views.sort_by(|a, b| a.config.id.cmp(&b.config.id));
    let g = i64::try_from(views.len()).unwrap_or(i64::MAX);
    let mut items: Vec<AgentView> = views
        .into_iter()
        .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .collect();
    let remaining = page.limit - i64::try_from(items.len()).unwrap_or(0);
    let (rows, stored) = store
        .admin()
        .all_workspace_agents(remaining, (page.offset - g).max(0))
        .await?;
    for row in rows {
        items.push(AgentView::try_from(row)?);
    }
    Ok((items, g + stored))
}

/// A user by id; 404 when there is none.
pub async fn user(store: &Store, uid: &str) -> ApiResult<UserRow> {
    store
        .users()
        .user_by_id(uid)
        .await?
        .ok_or_else(|| ApiError::not_found("User"))
}

/// A user's billing over the last `months` months, current month first.
pub async fn usage(
    store: &Store,
    uid: &str,
    months: i64,
) -> ApiResult<(UserRow, Vec<MonthBilling>)> {
    let user = user(store, uid).await?;
    let billing = costs::user_billing(store, &user.id, months).await?;
    Ok((user, billing))
}

/// One page of a user's active sessions, newest activity first, with the total.
pub async fn active_sessions(
    store: &Store,
    uid: &str,
    page: Page,
) -> ApiResult<(UserRow, Vec<SessionRow>, i64)> {
    let user = user(store, uid).await?;
    let filter = SessionFilter {
        user_id: &user.id,
        workspace_id: None,
        status: Some("active"),
    };
    let (rows, total) = store
        .sessions()
        .list_sessions(&filter, page.limit, page.offset)
        .await?;
    Ok((user, rows, total))
}

/// A user's last `limit` audit entries, newest first.
pub async fn audit(store: &Store, uid: &str, limit: i64) -> ApiResult<(UserRow, Vec<AuditRow>)> {
    let user = user(store, uid).await?;
    let entries = store.admin().audit_entries(&user.id, limit).await?;
    Ok((user, entries))
}
