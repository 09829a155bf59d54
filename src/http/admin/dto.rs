//! Response shapes of the `/admin/*` routes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{
    admin::Health,
    costs::MonthBilling,
    diagnostics::process::ProcessMemory,
    http::sessions::SessionOut,
    page::Page,
    store::{AuditRow, SessionRow},
};

/// Resident memory of the process (`null` where `/proc` is unavailable).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMemoryOut {
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
    /// Peak resident set size, bytes.
    pub peak_rss_bytes: Option<u64>,
}

impl From<ProcessMemory> for ProcessMemoryOut {
    fn from(m: ProcessMemory) -> Self {
        Self {
            rss_bytes: m.rss_bytes,
            peak_rss_bytes: m.peak_rss_bytes,
        }
    }
}

/// The database as the health check saw it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseHealthOut {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// It answered a ping.
    pub ok: bool,
    /// Time of the ping, in milliseconds.
    pub latency_ms: f64,
}

/// The memory embedding queue: its length and the age of its oldest chunk.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryIndexOut {
    /// Chunks waiting to be embedded.
    pub backlog: i64,
    /// Seconds since the oldest of them was queued (0 when none waits).
    pub lag_seconds: i64,
    /// PostgreSQL's pgvector extension: `installed`, `available` or `absent` (`null` on
    /// SQLite). Detected only: vectors are always ranked by the Rust cosine.
    pub pgvector: Option<String>,
}

/// The cluster as this replica sees it (`ASTRA_REDIS_URL` set).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterHealthOut {
    /// `up` or `down` (limits and breakers are per replica while down).
    pub redis: String,
    /// Replicas that sent a heartbeat in the last minute (this one included), sorted.
    pub replicas: Vec<String>,
    /// Agents running a turn on those replicas (`busyAgents` above is this replica's).
    pub busy_agents: i64,
    /// Open SSE streams on those replicas (`openStreams` above is this replica's).
    pub open_streams: i64,
}

/// `GET /admin/health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminHealthOut {
    /// `ok` or `degraded` (database unreachable).
    pub status: String,
    /// Gateway version.
    pub version: String,
    /// Seconds since start-up.
    pub uptime_seconds: u64,
    /// Resident memory.
    pub memory: ProcessMemoryOut,
    /// Active sessions (`null` when the database could not say).
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
    /// Database.
    pub database: DatabaseHealthOut,
    /// The memory embedding queue (`null` when the database could not say).
    pub memory_index: Option<MemoryIndexOut>,
    /// This replica's id (`ASTRA_REPLICA_ID`, or generated at start-up).
    pub replica: String,
    /// The cluster view; `null` without Redis.
    pub cluster: Option<ClusterHealthOut>,
    /// When this was read.
    pub timestamp: DateTime<Utc>,
}

impl From<Health> for AdminHealthOut {
    fn from(h: Health) -> Self {
        Self {
            status: if h.db_ok { "ok" } else { "degraded" }.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            uptime_seconds: h.uptime_seconds,
            memory: h.memory.into(),
            active_sessions: h.active_sessions,
            busy_agents: h.busy_agents,
            open_streams: h.open_streams,
            tools: h.tools,
            skills: h.skills,
            global_agents: h.global_agents,
            replica: h.replica_id,
            cluster: h.cluster.map(|c| ClusterHealthOut {
                redis: if c.redis_ok { "up" } else { "down" }.into(),
                replicas: c.replicas,
                busy_agents: c.load.busy_agents,
                open_streams: c.load.open_streams,
            }),
            database: DatabaseHealthOut {
                engine: h.engine.into(),
                ok: h.db_ok,
                latency_ms: h.db_latency_ms,
            },
            memory_index: h.memory_index.map(|(backlog, lag_seconds)| MemoryIndexOut {
                backlog,
                lag_seconds,
                pgvector: h.pgvector.map(str::to_string),
            }),
            timestamp: Utc::now(),
        }
    }
}

/// One month of a user's billing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthUsageOut {
    /// `YYYY-MM`.
    pub month: String,
    /// Tokens counted against the monthly budget.
    pub tokens: i64,
    /// Prompt tokens of the usage records.
    pub prompt_tokens: i64,
    /// Completion tokens of the usage records.
    pub completion_tokens: i64,
    /// Their sum.
    pub total_tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Inference calls.
    pub requests: i64,
}

impl From<MonthBilling> for MonthUsageOut {
    fn from(m: MonthBilling) -> Self {
        let t = m.totals;
        Self {
            month: m.month,
            tokens: m.tokens,
            prompt_tokens: t.prompt_tokens,
            completion_tokens: t.completion_tokens,
            total_tokens: t.prompt_tokens + t.completion_tokens,
            cost_usd: t.cost_usd,
            requests: t.requests,
        }
    }
}

/// `GET /admin/usage/{uid}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserUsageOut {
    /// User id.
    pub uid: String,
    /// User email.
    pub email: String,
    /// Monthly token budget (`null` = unlimited).
    pub monthly_token_budget: Option<u64>,
    /// Current month first.
    pub months: Vec<MonthUsageOut>,
}

/// `GET /admin/sessions/{uid}`: one page of the user's active sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSessionsOut {
    /// User id.
    pub uid: String,
    /// The sessions of this page.
    pub items: Vec<SessionOut>,
    /// Active sessions in all.
    pub total: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}

impl UserSessionsOut {
    /// A page of `uid`'s sessions out of `total`.
    pub fn new(uid: String, rows: Vec<SessionRow>, total: i64, page: Page) -> Self {
        Self {
            uid,
            items: rows.into_iter().map(SessionOut::from).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }
    }
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryOut {
    /// `aud_…`
    pub id: String,
    /// Dotted action name (`auth.login`, `session.handoff`, …).
    pub action: String,
    /// Workspace, when the action was inside one.
    pub workspace_id: Option<String>,
    /// What was acted on.
    pub target: Option<String>,
    /// Free-form details recorded with the action, or null when none were.
    #[schema(value_type = Option<Object>)]
    pub details: Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditRow> for AuditEntryOut {
    fn from(a: AuditRow) -> Self {
        Self {
            id: a.id,
            action: a.action,
            workspace_id: a.workspace_id,
            target: a.target,
            details: a.details.0,
            created_at: a.created_at,
        }
    }
}

/// `GET /admin/audit/{uid}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserAuditOut {
    /// User id.
    pub uid: String,
    /// Newest first.
    pub items: Vec<AuditEntryOut>,
}
