//! The gateway under test: built and started as a subprocess on SQLite or a fresh PostgreSQL
//! database, then given a user and a workspace (via `/onboarding/setup` when it exists).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::procs::{self, Proc};

/// Password of the benchmark user (also used by the login scenario).
pub const PASSWORD: &str = "bench-password-1";

/// Which database the gateway runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    /// The embedded default: a SQLite file in a temporary data directory.
    Sqlite,
    /// A fresh database on the local PostgreSQL server, dropped afterwards.
    Postgres,
}

impl std::fmt::Display for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A running gateway with its data directory and (for PostgreSQL) its database.
pub struct Gateway {
    /// The process.
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    data_dir: PathBuf,
    pg: Option<(String, String)>,
}

/// Settings to start a gateway.
pub struct Launch<'a> {
    /// The `astra` binary.
    pub bin: &'a Path,
    /// Database engine.
    pub db: Db,
    /// Server URL of PostgreSQL without a database name.
    pub pg_server: &'a str,
    /// Base URL of the fake upstream's OpenAI API (`http://127.0.0.1:P/v1`).
    pub upstream: &'a str,
    /// CPUs for `taskset`, when pinned.
    pub cpus: Option<&'a str>,
    /// `ASTRA_PASSWORD_MEMORY_KIB`, when set.
    pub password_kib: Option<u32>,
}

fn unique() -> String {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}_{ns}", std::process::id())
}

fn psql(server: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .arg(format!("{}/postgres", server.trim_end_matches('/')))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .context("running psql (is the PostgreSQL client installed?)")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Committed transactions and rows written (inserted + updated + deleted) so far in database
/// `name`, from `pg_stat_database` (which lags by up to a second).
pub fn pg_counters(server: &str, name: &str) -> Option<(u64, u64)> {
    let sql = format!(
        "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted \
         FROM pg_stat_database WHERE datname = '{name}'"
    );
    let out = std::process::Command::new("psql")
        .arg(format!("{}/postgres", server.trim_end_matches('/')))
        .args(["-A", "-t", "-q", "-F", " ", "-c", &sql])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

impl Gateway {
    /// Starts the gateway and waits for `/readiness`.
    pub async fn start(l: &Launch<'_>, client: &reqwest::Client) -> anyhow::Result<Self> {
        let id = unique();
        let data_dir = std::env::temp_dir().join(format!("astra-bench-{id}"));
        std::fs::create_dir_all(&data_dir)?;
        let port = procs::free_port()?;
        let mut cmd = procs::command(l.bin, l.cpus);
        let log = std::fs::File::create(data_dir.join("gateway.log"))?;
        cmd.stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("ASTRA_DATA_DIR", &data_dir)
            .env("JWT_SECRET", "bench-jwt-secret-0123456789abcdef")
            .env("JWT_ACCESS_EXPIRES", "24h")
            .env("OPENAI_API_KEY", "bench")
            .env("OPENAI_BASE_URL", l.upstream)
            .env("ASTRA_DEFAULT_PROVIDER", "openai")
            .env("ASTRA_LIMITS_IP_PER_MINUTE", "0")
            .env("ASTRA_LIMITS_USER_PER_MINUTE", "0")
            .env("ASTRA_LIMITS_USER_TOKENS_PER_MONTH", "0")
            .env("ASTRA_ALLOW_PRIVATE_URLS", "true")
            .env("RUST_LOG", "warn");
        if let Some(kib) = l.password_kib {
            cmd.env("ASTRA_PASSWORD_MEMORY_KIB", kib.to_string());
        }
        let mut pg = None;
        if l.db == Db::Postgres {
            let name = format!("astra_bench_{id}");
            psql(l.pg_server, &format!("CREATE DATABASE {name}"))
                .with_context(|| format!("creating database {name}"))?;
            cmd.env(
                "DATABASE_URL",
                format!("{}/{name}", l.pg_server.trim_end_matches('/')),
            );
            pg = Some((l.pg_server.to_owned(), name));
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", l.bin.display()))?;
        let mut gw = Self {
            proc: procs::adopt("gateway", child)?,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            pg,
        };
        let ready = format!("{}/readiness", gw.base);
        if let Err(e) =
            procs::wait_http_ok(client, &ready, &mut gw.proc, Duration::from_secs(60)).await
        {
            let log = gw.log_tail();
            gw.stop().await;
            bail!("{e}\n--- gateway log ---\n{log}");
        }
        Ok(gw)
    }

    /// PostgreSQL server and database name, when on PostgreSQL.
    pub fn pg(&self) -> Option<(String, String)> {
        self.pg.clone()
    }

    /// The last lines of the gateway's log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.data_dir.join("gateway.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Stops the gateway, drops its database and removes its data directory.
    pub async fn stop(self) {
        self.proc.stop().await;
        if let Some((server, name)) = &self.pg
            && let Err(e) = psql(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
        {
            eprintln!("warning: could not drop {name}: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A registered user with a workspace.
#[derive(Debug, Clone)]
pub struct Session {
    /// Email.
    pub email: String,
    /// Bearer token.
    pub token: String,
    /// Workspace id.
    pub workspace: String,
    /// True when `/onboarding/setup` seeded the agents (else only a bare workspace exists).
    pub onboarded: bool,
}

impl Session {
    /// `Authorization` and `X-Workspace-Id` headers.
    pub fn headers(&self) -> anyhow::Result<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", self.token))?,
        );
        h.insert("x-workspace-id", HeaderValue::from_str(&self.workspace)?);
        Ok(h)
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let mut rb = client.post(url).json(&body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await?;
    let status = resp.status().as_u16();
    let value = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, value))
}

/// Registers a user and gives it a workspace: `/onboarding/setup`, else `POST /workspaces`.
pub async fn setup(client: &reqwest::Client, base: &str) -> anyhow::Result<Session> {
    let email = format!("bench-{}@example.com", unique());
    let (status, body) = post(
        client,
        &format!("{base}/auth/register"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await?;
    if status != 201 && status != 200 {
        bail!("register: HTTP {status} {body}");
    }
    let token = body["accessToken"]
        .as_str()
        .context("register: no accessToken")?
        .to_owned();
    let (status, body) = post(
        client,
        &format!("{base}/onboarding/setup"),
        Some(&token),
        json!({"workspaceName": "bench"}),
    )
    .await?;
    let (workspace, onboarded) = if status == 200 || status == 201 {
        let id = body.pointer("/workspace/id").and_then(Value::as_str);
        (id.context("onboarding: no workspace.id")?.to_owned(), true)
    } else {
        eprintln!(
            "note: POST /onboarding/setup answered {status}; creating a bare workspace \
                   (agent scenarios will be skipped if no `chad` agent exists)"
        );
        let (status, body) = post(
            client,
            &format!("{base}/workspaces"),
            Some(&token),
            json!({"name": "bench"}),
        )
        .await?;
        if status != 201 && status != 200 {
            bail!("create workspace: HTTP {status} {body}");
        }
        (
            body["id"].as_str().context("workspace: no id")?.to_owned(),
            false,
        )
    };
    Ok(Session {
        email,
        token,
        workspace,
        onboarded,
    })
}
