//! The processes of the restart test: a PostgreSQL server of its own (`initdb` + `pg_ctl`, as
//! the `postgres` OS user when the test runs as root) and `astra serve` on it.

use std::{
    os::unix::fs::MetadataExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use super::ACQUIRE;
use crate::helpers::*;

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`, `pg_ctl` and `postgres`.
pub(super) fn server_binaries() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|b| bin.join(b).is_file())
                .then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// `id <flag> postgres`.
fn postgres_id(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .expect("id");
    assert!(
        out.status.success(),
        "running as root needs a `postgres` OS user for initdb/postgres"
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// A PostgreSQL server owned by the test: its own data directory, socket directory and port.
/// Stopped (immediate mode) when dropped.
pub(super) struct OwnPostgres {
    bin: PathBuf,
    pub(super) dir: tempfile::TempDir,
    port: u16,
    /// Root may not run initdb/postgres: they run as the `postgres` OS user then.
    as_postgres: bool,
}

impl OwnPostgres {
    /// `initdb` in a fresh temp dir, then start.
    pub(super) fn start_new(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let as_postgres = std::fs::metadata("/proc/self").expect("/proc").uid() == 0;
        if as_postgres {
            let (uid, gid) = (postgres_id("-u"), postgres_id("-g"));
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let pg = Self {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.start();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub(super) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one of the server binaries (as `postgres` when we are root); panics with the
    /// server log when it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let status = cmd
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run a PostgreSQL binary");
        assert!(
            status.success(),
            "{program} {args:?}: {status}\n{}",
            self.log()
        );
    }

    /// `pg_ctl start`, waiting until the server accepts connections.
    pub(super) fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
            ],
        );
    }

    /// `pg_ctl stop` in `mode` (`fast`: open sessions are terminated, transactions rolled back).
    pub(super) fn stop(&self, mode: &str) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", mode, "-w", "stop"]);
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `astra serve` process on the test's server (SIGKILLed when dropped).
pub(super) struct Gateway {
    child: Child,
    pub(super) base: String,
    log: PathBuf,
}

impl Gateway {
    pub(super) async fn start(pg: &OwnPostgres, fake: &FakeLlm) -> Self {
        let port = free_port();
        let log = pg.dir.path().join("astra.log");
        let data_dir = pg.dir.path().join("astra");
        std::fs::create_dir_all(&data_dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_astra"))
            .arg("serve")
            .env_clear()
            .current_dir(&data_dir)
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", pg.url())
            .env(
                "ASTRA_DB_ACQUIRE_TIMEOUT",
                format!("{}s", ACQUIRE.as_secs()),
            )
            .env("ASTRA_DATA_DIR", &data_dir)
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .env("INTERNAL_API_KEY", TEST_INTERNAL_KEY)
            .env("ASTRA_ALLOW_PRIVATE_URLS", "true")
            .env("ASTRA_PASSWORD_MEMORY_KIB", "64")
            .env("ASTRA_LIMITS_AUTH_PER_MINUTE", "0")
            .env("ASTRA_LIMITS_IP_PER_MINUTE", "0")
            .env("ASTRA_LIMITS_USER_PER_MINUTE", "0")
            .env("ASTRA_WORKER_POLL_MS", "50")
            .env("OPENAI_API_KEY", "test-key")
            .env("OPENAI_BASE_URL", &fake.base_url)
            .env("ASTRA_DEFAULT_PROVIDER", "openai")
            .env("ASTRA_DEFAULT_MODEL", "gpt-4o-mini")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn astra");
        let gw = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(gw.url("/readiness")).send().await
                && r.status() == 200
            {
                return gw;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("astra never became ready:\n{}", gw.log());
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The last lines the process logged, for failure messages.
    pub(super) fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Registers a user and runs onboarding; (token, workspace id).
    pub(super) async fn user(&self, client: &reqwest::Client) -> (String, String) {
        let r = client
            .post(self.url("/auth/register"))
            .json(&json!({"email": unique_email("pgrestart"), "password": "correct-horse"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let b: Value = r.json().await.unwrap();
        let token = b["accessToken"].as_str().unwrap().to_string();
        let r = client
            .post(self.url("/onboarding/setup"))
            .bearer_auth(&token)
            .json(&json!({"workspaceName": "pg-restart"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let b: Value = r.json().await.unwrap();
        (token, b["workspace"]["id"].as_str().unwrap().to_string())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
