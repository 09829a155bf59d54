//! Application state shared by every handler and worker: the composition root, which may
//! import every feature. Features take narrow environments instead, built from the state in
//! `app/envs.rs`; only `jobs` and `workers`, which sit above it, hold the state itself.

mod cluster;
mod envs;

pub use cluster::start_cluster;

use std::{
    ops::Deref,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicI64},
    },
    time::Instant,
};

use anyhow::Context;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    agents::{AgentConfig, GlobalAgents, onboarding::starter_agents, require_catalog},
    auth::{AuthService, credentials::Hasher, tokens::JwtKeys},
    chat::{
        limits::{AUTONOMOUS_PER_MINUTE, RateLimiter},
        presence::Presence,
        tool_cache::ToolCache,
    },
    cluster::Redis,
    config::{Config, Secret},
    credentials::{CredentialCipher, load_or_create_key},
    mcp::{McpHub, parse_operator_servers},
    net::guarded_client,
    providers::{Pricing, ProviderRegistry},
    skills::SkillRegistry,
    store::{ConnectOptions, Store},
    tools::ToolRegistry,
};

/// Cheap-to-clone handle on everything a request may need.
#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

/// The contents of [`AppState`].
pub struct AppInner {
    /// Resolved configuration.
    pub config: Config,
    /// Database.
    pub store: Store,
    /// Authentication service.
    pub auth: AuthService,
    /// Tools agents may call.
    pub tools: Arc<ToolRegistry>,
    /// Skills (built-in and from `astra.yml`).
    pub skills: Arc<SkillRegistry>,
    /// LLM provider clients, breakers and resilience settings.
    pub providers: Arc<ProviderRegistry>,
    /// Seals and opens workspace provider credentials (`ASTRA_ENCRYPTION_KEY`).
    pub cipher: CredentialCipher,
    /// Price table.
    pub pricing: Arc<Pricing>,
    /// Live agent states per user.
    pub presence: Arc<Presence>,
    /// Results of cacheable tools.
    pub tool_cache: Arc<ToolCache>,
    /// Chat requests per client IP.
    pub ip_limiter: RateLimiter,
    /// Chat requests per user.
    pub user_limiter: RateLimiter,
    /// Requests to the autonomous routes (per internal key).
    pub autonomous_limiter: RateLimiter,
    /// The cluster's shared Redis (`ASTRA_REDIS_URL`); `None` = per-process state.
    pub redis: Option<Arc<Redis>>,
    /// Process start, for uptime.
    pub started_at: Instant,
    /// Background tasks; shutdown waits for them.
    pub tasks: TaskTracker,
    /// Cancelled first when the process is asked to stop: the server stops accepting and
    /// background workers stop claiming work, while running turns and job attempts go on
    /// (within `ASTRA_SHUTDOWN_GRACE`).
    pub draining: CancellationToken,
    /// Turns and job attempts in flight (each holds a token of it while it runs); shutdown
    /// waits for them until the grace runs out.
    pub in_flight: TaskTracker,
    /// Cancelled when in-flight work must stop: after [`Self::draining`], once every turn and
    /// job attempt finished or the grace ran out. Cut turns are saved as incomplete and
    /// billed; cut job attempts are handed back.
    pub shutdown: CancellationToken,
    /// False until migrations have run.
    pub ready: AtomicBool,
    /// Currently open streaming connections (SSE).
    pub open_streams: AtomicI64,
    /// Currently open WebSocket connections (`/ws`).
    pub ws_connections: AtomicI64,
    /// Global agents from `astra.yml`.
    pub global_agents: GlobalAgents,
    /// Agents seeded into a workspace by onboarding.
    pub starter_agents: Vec<AgentConfig>,
    /// Renders the process-wide Prometheus recorder (shared by every app in the process).
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Sends finished turns to an OTLP collector (`ASTRA_OTLP_ENDPOINT`; inert without).
    pub otlp: Arc<crate::traces::export::Exporter>,
    /// MCP servers whose tools agents may call (`astra.yml` `mcp.servers`, `/mcp-servers`).
    pub mcp: Arc<McpHub>,
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Builds the state: resolves the JWT secret and connects the store (no migrations yet).
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        // A local model2vec model is read once, here: a bad folder stops start-up.
        crate::memory::embed::Embedders::preload(&config.memory)
            .map_err(|e| anyhow::anyhow!("memory embedder: {e}"))?;
        crate::cluster::set_replica_id(&config.cluster.replica_id);
        let store = Store::connect(&ConnectOptions::from(&config)).await?;
        if config.jwt_secret.is_none() {
            config.jwt_secret = Some(resolve_jwt_secret(&store, &config.data_dir).await?);
        }
        if config.encryption_key.is_none() {
            if store.engine() == "postgres" {
                tracing::warn!(
                    "ASTRA_ENCRYPTION_KEY is unset on PostgreSQL: this replica generated its own; \
                     replicas sharing the database must share the key (see README, Scaling out)"
                );
            }
            config.encryption_key = Some(load_or_create_key(&config.data_dir)?);
        }
        let cipher = config
            .encryption_key
            .as_ref()
            .map(CredentialCipher::new)
            .transpose()
            .map_err(|e| anyhow::anyhow!("ASTRA_ENCRYPTION_KEY: {e}"))?
            .context("ASTRA_ENCRYPTION_KEY: unresolved")?;
        if config.internal_api_key.is_none() {
            tracing::warn!(
                "INTERNAL_API_KEY is unset: admin, autonomous and diagnostics routes refuse every call"
            );
        }
        let secret = config
            .jwt_secret
            .clone()
            .context("JWT_SECRET: unresolved")?;
        let keys = JwtKeys::new(
            secret.expose(),
            config.jwt_secret_prev.as_ref().map(Secret::expose),
        );
        let hasher = Hasher::new(config.password_memory_kib)?;
        let redis = Redis::from_config(&config.cluster)?.map(Arc::new);
        let auth = AuthService::new(keys, hasher, config.jwt_access_ttl, config.jwt_refresh_ttl)
            .with_ip_limit(config.auth_per_minute, redis.clone());
        // One switch for every outbound guard, so tools cannot disagree with webhooks.
        config.tools.allow_private_urls = config.allow_private_urls;
        let http = guarded_client(config.allow_private_urls, config.tools.fetch.timeout)
            .map_err(|e| anyhow::anyhow!("outbound HTTP client: {e}"))?;
        // Tenant endpoints go through the same outbound guard as tools.
        config.inference.allow_private_urls = config.allow_private_urls;
        let providers = ProviderRegistry::new(config.inference.clone())
            .map_err(|e| anyhow::anyhow!("inference: {e}"))?;
        if let Some(redis) = &redis {
            providers.breakers().share(redis.clone());
        }
        let providers = Arc::new(providers);
        let pricing = Pricing::new(Some(&config.file.pricing).filter(|v| !v.is_null()))
            .map_err(|e| anyhow::anyhow!("astra.yml pricing: {e}"))?;
        let pricing = Arc::new(pricing);
        // The memory tools search with the embedders the HTTP search uses.
        let embedders = crate::memory::embed::Embedders::new(
            &config.memory,
            Some((providers.clone(), pricing.clone())),
        );
        let tools = ToolRegistry::builtin(&config.tools, http).with_memory(&store, embedders);
        let skills = SkillRegistry::new(&config.file.skills, &tools)
            .map_err(|e| anyhow::anyhow!("astra.yml skills: {e}"))?;
        let tool_cache = ToolCache::new(config.tool_cache_ttl, config.dos.tool_cache_max_bytes)
            .shared(redis.clone());
        let ip_limiter = RateLimiter::new(config.limits.ip_per_minute)
            .named("ip")
            .shared(redis.clone());
        let user_limiter = RateLimiter::new(config.limits.user_per_minute)
            .named("user")
            .shared(redis.clone());
        let global_agents = GlobalAgents::load(&config.file.agents, chrono::Utc::now())?;
        let starter_agents = starter_agents(&config.default_provider, &config.default_model)?;
        require_catalog(global_agents.all(), "astra.yml agents", &skills, &tools)?;
        require_catalog(&starter_agents, "starter agents", &skills, &tools)?;
        let otlp = Arc::new(crate::traces::export::Exporter::new(&config.otlp)?);
        let mcp_servers = parse_operator_servers(&config.file.mcp)?;
        let mcp = McpHub::new(
            mcp_servers,
            store.clone(),
            cipher.clone(),
            config.allow_private_urls,
        )?;
        Ok(Self(Arc::new(AppInner {
            config,
            store,
            auth,
            tools: Arc::new(tools),
            skills: Arc::new(skills),
            providers,
            cipher,
            pricing,
            presence: Arc::default(),
            tool_cache: Arc::new(tool_cache),
            ip_limiter,
            user_limiter,
            autonomous_limiter: RateLimiter::new(AUTONOMOUS_PER_MINUTE)
                .named("autonomous")
                .shared(redis.clone()),
            redis,
            started_at: Instant::now(),
            tasks: TaskTracker::new(),
            draining: CancellationToken::new(),
            in_flight: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            ready: AtomicBool::new(false),
            open_streams: AtomicI64::new(0),
            ws_connections: AtomicI64::new(0),
            global_agents,
            starter_agents,
            metrics: crate::observability::handle(),
            otlp,
            mcp: Arc::new(mcp),
        })))
    }
}

/// The JWT secret when `JWT_SECRET` is unset. On PostgreSQL every replica must sign alike: the
/// first replica to start stores a generated secret in `cluster_secrets` and the others read it
/// (migrations run first, so the table exists). On SQLite: the data dir's file.
async fn resolve_jwt_secret(store: &Store, data_dir: &Path) -> anyhow::Result<Secret> {
    if store.engine() != "postgres" {
        return load_or_create_secret(data_dir);
    }
    store.migrate().await?;
    // A replica upgraded from a single-process setup offers its old secret, so its tokens
    // stay valid when it is the first to store one.
    let fresh = std::fs::read_to_string(data_dir.join("jwt_secret"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() >= 16)
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 32]>()));
    let secret = store
        .cluster_secret("jwt", &fresh)
        .await
        .context("JWT_SECRET: cannot read the shared secret from the database")?;
    if secret == fresh {
        tracing::warn!(
            "JWT_SECRET is unset: generated one and stored it in the database for every replica"
        );
    }
    Ok(Secret::new(secret))
}

/// Reads `<data_dir>/jwt_secret`, creating it with a random value on first start.
fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 16 {
            return Ok(Secret::new(existing));
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("ASTRA_DATA_DIR: cannot create {}", data_dir.display()))?;
    let bytes: [u8; 32] = rand::random();
    let secret = hex::encode(bytes);
    std::fs::write(&path, &secret)
        .with_context(|| format!("ASTRA_DATA_DIR: cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    tracing::warn!(path = %path.display(), "JWT_SECRET is unset: generated one and stored it in the data dir");
    Ok(Secret::new(secret))
}
