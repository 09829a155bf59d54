//! Configuration: embedded defaults, then an optional `astra.yml`, then the environment.
//!
//! Every value is resolved once at start-up into [`Config`]; a bad value stops start-up with
//! one line naming the key. Secrets are wrapped in [`Secret`] so `Debug` never prints them.

mod allowed_endpoint;
mod cidr;
pub mod cluster;
mod console;
mod dos;
mod duration;
pub mod embeddings;
pub mod encryption_key;
mod file;
pub mod inference;
pub mod limits;
mod metrics;
pub mod openai;
mod otlp;
pub mod retention;
mod security;
mod sqlite;
pub mod tools;
mod ws;

pub use cidr::{Cidr, canonical as canonical_ip};
pub use cluster::ClusterConfig;
pub use console::ConsoleConfig;
pub use dos::DosConfig;
pub use duration::parse_duration;
pub use file::FileConfig;
pub use otlp::OtlpConfig;
pub use security::MIN_SECRET_LEN;
pub use sqlite::SqliteSync;
pub use ws::WsConfig;

use std::{fmt, path::PathBuf, time::Duration};

use anyhow::{Context, bail};

/// A secret string whose `Debug` and `Display` are masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The raw value; call only where the secret is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Write-only secrets arrive in request bodies (provider credentials); they are wrapped as
/// soon as they are parsed so no `Debug` of the request can print them.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// The resolved configuration of one gateway process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind (`HOST`).
    pub host: String,
    /// Port to bind (`PORT`).
    pub port: u16,
    /// `DATABASE_URL`; `None` means the embedded SQLite file under `data_dir`.
    pub database_url: Option<String>,
    /// Maximum pooled database connections (`ASTRA_DB_MAX_CONNECTIONS`).
    pub db_max_connections: u32,
    /// How long a request waits for a pooled connection (`ASTRA_DB_ACQUIRE_TIMEOUT`).
    pub db_acquire_timeout: Duration,
    /// `PRAGMA synchronous` of every SQLite connection (`ASTRA_SQLITE_SYNCHRONOUS` or
    /// `settings.sqliteSynchronous`; default FULL).
    pub sqlite_synchronous: SqliteSync,
    /// Most turn writes per group-commit transaction (`ASTRA_TURN_WRITER_BATCH`, 1–1024;
    /// default 64; 1 = a transaction per write).
    pub turn_writer_batch: usize,
    /// Directory for the SQLite file and the generated JWT secret (`ASTRA_DATA_DIR`).
    pub data_dir: PathBuf,
    /// HS256 signing secret (`JWT_SECRET`); `None` until resolved from the data dir.
    pub jwt_secret: Option<Secret>,
    /// Key encrypting workspace provider credentials (`ASTRA_ENCRYPTION_KEY`, 32 bytes as hex
    /// or base64); `None` until resolved from the data dir.
    pub encryption_key: Option<Secret>,
    /// Previous signing secret still accepted for verification (`JWT_SECRET_PREV`).
    pub jwt_secret_prev: Option<Secret>,
    /// Access-token lifetime (`JWT_ACCESS_EXPIRES`).
    pub jwt_access_ttl: Duration,
    /// Refresh-token lifetime (`JWT_REFRESH_EXPIRES`).
    pub jwt_refresh_ttl: Duration,
    /// Key for internal routes (`INTERNAL_API_KEY`); unset refuses every internal call.
    pub internal_api_key: Option<Secret>,
    /// Bearer token of `/metrics/prometheus` for scrapers (`ASTRA_METRICS_TOKEN`, ≥ 16 chars).
    pub metrics_token: Option<Secret>,
    /// Allow outbound calls to private addresses (`ASTRA_ALLOW_PRIVATE_URLS`).
    pub allow_private_urls: bool,
    /// Allowed CORS origins (`ASTRA_CORS_ORIGINS`, comma separated; `*` for any).
    pub cors_origins: Vec<String>,
    /// Argon2 memory cost in KiB (`ASTRA_PASSWORD_MEMORY_KIB`).
    pub password_memory_kib: u32,
    /// `/auth/*` requests per client IP per minute (`ASTRA_LIMITS_AUTH_PER_MINUTE`, or
    /// `limits.authPerMinute`; default 20, 0 = off).
    pub auth_per_minute: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`ASTRA_TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<Cidr>,
    /// Provider for agents that name none: `settings.defaultProvider`, else
    /// `ASTRA_DEFAULT_PROVIDER`, else the first provider whose key is in the environment.
    pub default_provider: String,
    /// Model for that provider: `settings.defaultModel`, else `ASTRA_DEFAULT_MODEL`, else the
    /// provider's usual small model.
    pub default_model: String,
    /// Settings of the built-in tools (web search backend, fetch limits).
    pub tools: tools::ToolsConfig,
    /// Providers, keys, base URLs, retries and breakers (`inference:` + provider env vars).
    pub inference: inference::InferenceConfig,
    /// Chat limits (`limits:` + `ASTRA_LIMITS_*`).
    pub limits: limits::LimitsConfig,
    /// Agent quotas (`quotas:`).
    pub quotas: Vec<limits::QuotaRule>,
    /// The OpenAI-compatible surface (`openai:`, `ASTRA_OPENAI_PASSTHROUGH_MODELS`).
    pub openai: openai::OpenAiConfig,
    /// How long cacheable tool results are reused (`ASTRA_TOOL_CACHE_TTL_SECS`, default 300).
    pub tool_cache_ttl: Duration,
    /// Time limit of one tool call (`ASTRA_TOOL_TIMEOUT_MS`, default 30 000).
    pub tool_timeout: Duration,
    /// Key signing outgoing webhooks (`ASTRA_WEBHOOK_SECRET`); unset → derived from the JWT
    /// secret.
    pub webhook_secret: Option<Secret>,
    /// First retry delay of webhook deliveries (`ASTRA_WEBHOOK_RETRY_BASE_MS`, default 1000).
    pub webhook_retry_base: Duration,
    /// How long a rotated webhook secret still signs next to the new one
    /// (`ASTRA_WEBHOOK_ROTATION_OVERLAP_SECS`, default 86 400).
    pub webhook_rotation_overlap: Duration,
    /// Background worker settings (`ASTRA_WORKER_POLL_MS`, …).
    pub workers: crate::poll::WorkersConfig,
    /// How long running turns and job attempts may go on after a shutdown signal before
    /// they are cut (`ASTRA_SHUTDOWN_GRACE`, e.g. `30s`; default 30 s).
    pub shutdown_grace: Duration,
    /// Slow-client, concurrency and cache bounds (`ASTRA_HEADER_READ_TIMEOUT_MS`, …).
    pub dos: DosConfig,
    /// Bounds of the `/ws` channel (`ASTRA_WS_*`).
    pub ws: WsConfig,
    /// Path prefix of the web console (`ASTRA_CONSOLE_PATH`).
    pub console: ConsoleConfig,
    /// How long old rows are kept (`ASTRA_RETENTION_*`).
    pub retention: retention::RetentionConfig,
    /// The OTLP trace exporter (`ASTRA_OTLP_*`; off without an endpoint).
    pub otlp: OtlpConfig,
    /// Memory embeddings and hybrid retrieval (`memory:` of `astra.yml`).
    pub memory: embeddings::EmbeddingsConfig,
    /// Shared state of several replicas (`ASTRA_REDIS_URL`, `ASTRA_REPLICA_ID`, …).
    pub cluster: ClusterConfig,
    /// The parsed `astra.yml` (empty when absent).
    pub file: FileConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            database_url: None,
            db_max_connections: 16,
            db_acquire_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSync::Full,
            turn_writer_batch: crate::store::DEFAULT_TURN_BATCH,
            data_dir: PathBuf::from("./data"),
            jwt_secret: None,
            encryption_key: None,
            jwt_secret_prev: None,
            jwt_access_ttl: Duration::from_secs(15 * 60),
            jwt_refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            internal_api_key: None,
            metrics_token: None,
            allow_private_urls: false,
            cors_origins: Vec::new(),
            password_memory_kib: 19 * 1024,
            auth_per_minute: 20,
            trusted_proxies: Vec::new(),
            default_provider: "openai".into(),
            default_model: "gpt-4o-mini".into(),
            tools: tools::ToolsConfig::default(),
            inference: inference::InferenceConfig::default(),
            limits: limits::LimitsConfig::default(),
            quotas: Vec::new(),
            openai: openai::OpenAiConfig::default(),
            tool_cache_ttl: Duration::from_secs(300),
            tool_timeout: Duration::from_secs(30),
            webhook_secret: None,
            webhook_retry_base: Duration::from_secs(1),
            webhook_rotation_overlap: Duration::from_secs(24 * 3600),
            workers: crate::poll::WorkersConfig::default(),
            shutdown_grace: Duration::from_secs(30),
            dos: DosConfig::default(),
            ws: WsConfig::default(),
            console: ConsoleConfig::default(),
            retention: retention::RetentionConfig::default(),
            otlp: OtlpConfig::default(),
            memory: embeddings::EmbeddingsConfig::default(),
            cluster: ClusterConfig::default(),
            file: FileConfig::default(),
        }
    }
}

impl Config {
    /// Resolves the configuration from `astra.yml` and the process environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::from_lookup(&|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
    }

    /// Resolves the configuration from an environment lookup (tests pass their own).
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Config::default();
        let explicit = env("ASTRA_CONFIG");
        let path = PathBuf::from(explicit.clone().unwrap_or_else(|| "./astra.yml".into()));
        if path.exists() {
            cfg.file = FileConfig::load(&path, env)?;
        } else if explicit.is_some() {
            bail!("ASTRA_CONFIG: file {} does not exist", path.display());
        }
        cfg.apply_env(env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = env("HOST") {
            self.host = v;
        }
        if let Some(v) = env("PORT") {
            self.port = v.parse().context("PORT: expected a port number 0-65535")?;
        }
        self.database_url = env("DATABASE_URL");
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite:"))
        {
            bail!("DATABASE_URL: expected postgres://… or sqlite:…");
        }
        if let Some(v) = env("ASTRA_DB_MAX_CONNECTIONS") {
            self.db_max_connections = v
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .context("ASTRA_DB_MAX_CONNECTIONS: expected a positive integer")?;
        }
        if let Some(v) = env("ASTRA_DB_ACQUIRE_TIMEOUT") {
            self.db_acquire_timeout =
                parse_duration(&v).context("ASTRA_DB_ACQUIRE_TIMEOUT: expected e.g. 5s")?;
        }
        if let Some(v) = env("ASTRA_TURN_WRITER_BATCH") {
            self.turn_writer_batch = v
                .parse()
                .ok()
                .filter(|n| (1..=crate::store::MAX_TURN_BATCH).contains(n))
                .context("ASTRA_TURN_WRITER_BATCH: expected an integer from 1 to 1024")?;
        }
        self.sqlite_synchronous = SqliteSync::resolve(self.file.setting("sqliteSynchronous"), env)?;
        if let Some(v) = env("ASTRA_SHUTDOWN_GRACE") {
            self.shutdown_grace =
                parse_duration(&v).context("ASTRA_SHUTDOWN_GRACE: expected e.g. 30s")?;
        }
        if let Some(v) = env("ASTRA_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        self.jwt_secret = env("JWT_SECRET").map(Secret::new);
        self.jwt_secret_prev = env("JWT_SECRET_PREV").map(Secret::new);
        self.encryption_key = env("ASTRA_ENCRYPTION_KEY").map(Secret::new);
        if let Some(k) = &self.encryption_key {
            encryption_key::parse_key(k.expose())
                .map_err(|e| anyhow::anyhow!("ASTRA_ENCRYPTION_KEY: {e}"))?;
        }
        if let Some(v) = env("JWT_ACCESS_EXPIRES") {
            self.jwt_access_ttl =
                parse_duration(&v).context("JWT_ACCESS_EXPIRES: expected e.g. 15m")?;
        }
        if let Some(v) = env("JWT_REFRESH_EXPIRES") {
            self.jwt_refresh_ttl =
                parse_duration(&v).context("JWT_REFRESH_EXPIRES: expected e.g. 7d")?;
        }
        self.internal_api_key = env("INTERNAL_API_KEY").map(Secret::new);
        self.metrics_token = metrics::metrics_token(env)?;
        if let Some(v) = env("ASTRA_ALLOW_PRIVATE_URLS") {
            self.allow_private_urls =
                parse_bool(&v).context("ASTRA_ALLOW_PRIVATE_URLS: expected true or false")?;
        }
        if let Some(v) = env("ASTRA_CORS_ORIGINS") {
            self.cors_origins = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = env("ASTRA_PASSWORD_MEMORY_KIB") {
            self.password_memory_kib = v
                .parse()
                .ok()
                .filter(|n| *n >= 8)
                .context("ASTRA_PASSWORD_MEMORY_KIB: expected an integer >= 8")?;
        }
        self.apply_auth_env(env)?;
        self.tools = tools::ToolsConfig::from_env(env).map_err(|e| anyhow::anyhow!("{e}"))?;
        self.inference = inference::InferenceConfig::from_sources(Some(&self.file.inference), env)
            .map_err(|e| anyhow::anyhow!("astra.yml inference: {e}"))?;
        self.resolve_default_model(env);
        self.limits = limits::LimitsConfig::from_sources(&self.file.limits, env)?;
        self.quotas = limits::QuotaRule::parse_all(&self.file.quotas)?;
        self.openai = openai::OpenAiConfig::from_sources(&self.file.openai, env)?;
        if let Some(v) = env("ASTRA_TOOL_CACHE_TTL_SECS") {
            self.tool_cache_ttl = Duration::from_secs(
                v.parse()
                    .context("ASTRA_TOOL_CACHE_TTL_SECS: expected seconds")?,
            );
        }
        if let Some(v) = env("ASTRA_TOOL_TIMEOUT_MS") {
            self.tool_timeout = Duration::from_millis(
                v.parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .context("ASTRA_TOOL_TIMEOUT_MS: expected positive milliseconds")?,
            );
        }
        self.webhook_secret = env("ASTRA_WEBHOOK_SECRET").map(Secret::new);
        if let Some(v) = env("ASTRA_WEBHOOK_RETRY_BASE_MS") {
            self.webhook_retry_base = Duration::from_millis(
                v.parse()
                    .context("ASTRA_WEBHOOK_RETRY_BASE_MS: expected milliseconds")?,
            );
        }
        if let Some(v) = env("ASTRA_WEBHOOK_ROTATION_OVERLAP_SECS") {
            self.webhook_rotation_overlap = Duration::from_secs(
                v.parse()
                    .context("ASTRA_WEBHOOK_ROTATION_OVERLAP_SECS: expected seconds")?,
            );
        }
        self.workers = crate::poll::WorkersConfig::from_env(env)?;
        self.dos = DosConfig::from_env(env)?;
        self.ws = WsConfig::from_env(env)?;
        self.console = ConsoleConfig::from_env(env)?;
        self.retention = retention::RetentionConfig::from_env(env)?;
        self.otlp = OtlpConfig::from_env(env)?;
        self.memory = embeddings::EmbeddingsConfig::from_sources(&self.file.memory, env)?;
        self.cluster = ClusterConfig::from_sources(&self.file, env)?;
        Ok(())
    }

    /// The key outgoing webhooks are signed with.
    pub fn webhook_signing_key(&self) -> Vec<u8> {
        use sha2::Digest;
        match (&self.webhook_secret, &self.jwt_secret) {
            (Some(s), _) => s.expose().as_bytes().to_vec(),
            // Derived, so the JWT secret itself never leaves the process in any form.
            (None, Some(jwt)) => {
                sha2::Sha256::digest(format!("astra-webhooks:{}", jwt.expose())).to_vec()
            }
            (None, None) => Vec::new(),
        }
    }

    fn resolve_default_model(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        let provider = self
            .file
            .setting("defaultProvider")
            .map(str::to_string)
            .or_else(|| env("ASTRA_DEFAULT_PROVIDER"))
            .or_else(|| {
                self.inference
                    .configured_providers()
                    .first()
                    .map(|p| p.to_string())
            });
        if let Some(provider) = provider {
            self.default_provider = provider;
        }
        let model = self
            .file
            .setting("defaultModel")
            .map(str::to_string)
            .or_else(|| env("ASTRA_DEFAULT_MODEL"))
            .or_else(|| {
                PROVIDER_DEFAULT_MODELS
                    .iter()
                    .find(|(p, _)| *p == self.default_provider)
                    .map(|(_, m)| m.to_string())
            });
        if let Some(model) = model {
            self.default_model = model;
        }
    }

    /// A human-readable dump with secrets masked, for `astra config check`.
    pub fn describe(&self) -> String {
        let mask = |s: &Option<Secret>| if s.is_some() { "***" } else { "(unset)" };
        let db = match &self.database_url {
            Some(url) => mask_url(url),
            None => format!("sqlite {}", self.sqlite_path().display()),
        };
        format!(
            "host: {}\nport: {}\ndatabase: {}\ndb_max_connections: {}\nsqlite_synchronous: {}\ndata_dir: {}\n\
             jwt_secret: {}\njwt_secret_prev: {}\njwt_access_ttl: {}s\njwt_refresh_ttl: {}s\n\
             internal_api_key: {}\nallow_private_urls: {}\ncors_origins: {:?}\n\
             default_provider: {}\ndefault_model: {}\nagents_in_file: {}\nskills_in_file: {}\n",
            self.host,
            self.port,
            db,
            self.db_max_connections,
            self.sqlite_synchronous.as_str(),
            self.data_dir.display(),
            mask(&self.jwt_secret),
            mask(&self.jwt_secret_prev),
            self.jwt_access_ttl.as_secs(),
            self.jwt_refresh_ttl.as_secs(),
            mask(&self.internal_api_key),
            self.allow_private_urls,
            self.cors_origins,
            self.default_provider,
            self.default_model,
            self.file.agents.len(),
            self.file.skills.len(),
        )
    }

    /// Path of the embedded SQLite database.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("astra.db")
    }
}

/// The model used when only the provider is known.
pub const PROVIDER_DEFAULT_MODELS: [(&str, &str); 10] = [
    ("openai", "gpt-4o-mini"),
    ("claude", "claude-sonnet-4-5"),
    ("gemini", "gemini-2.0-flash"),
    ("grok", "grok-3-mini"),
    ("groq", "llama-3.3-70b-versatile"),
    ("mistral", "mistral-small-latest"),
    ("openrouter", "openai/gpt-4o-mini"),
    ("bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0"),
    ("ollama", "llama3.2"),
    ("vllm", "default"),
];

/// The positive integer the environment holds under `key`, if set; zero, a sign or anything
/// else is an error naming the key.
pub fn positive_env(
    env: &dyn Fn(&str) -> Option<String>,
    key: &str,
) -> anyhow::Result<Option<u64>> {
    env(key)
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("{key}: expected a positive integer"))
        })
        .transpose()
}

/// Parses `true/false/1/0/yes/no`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Hides the password of a database URL.
fn mask_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_port_names_the_key() {
        let err = Config::from_lookup(&|k| (k == "PORT").then(|| "eighty".to_string()))
            .expect_err("bad port");
        assert!(err.to_string().starts_with("PORT"), "{err}");
    }

    #[test]
    fn default_provider_follows_settings_then_env_then_keys() {
        let cfg = Config::from_lookup(&|k| (k == "GROQ_API_KEY").then(|| "k".to_string()))
            .expect("config");
        assert_eq!(cfg.default_provider, "groq");
        assert_eq!(cfg.default_model, "llama-3.3-70b-versatile");
        let cfg = Config::from_lookup(&|k| match k {
            "ASTRA_DEFAULT_PROVIDER" => Some("claude".into()),
            "ASTRA_DEFAULT_MODEL" => Some("claude-x".into()),
            "OPENAI_API_KEY" => Some("k".into()),
            _ => None,
        })
        .expect("config");
        assert_eq!(
            (cfg.default_provider.as_str(), cfg.default_model.as_str()),
            ("claude", "claude-x")
        );
    }

    #[test]
    fn masks_database_password() {
        assert_eq!(
            mask_url("postgres://u:pw@host/db"),
            "postgres://u:***@host/db"
        );
    }
}
