//! The suite: for each pinning mode start the fake upstream and the bare proxy, for each database
//! start the gateway and give it a user and workspace, run the scenarios, then report.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use serde::Serialize;

use crate::{
    client::{self, Target},
    fake::FakeConfig,
    gateway::{self, Db, Gateway, Launch},
    load::{self, PhaseStats, Recorder},
    procs::{self, Proc, Usage},
    report::{self, Report},
    scenarios::{self, Scenario},
};

/// How processes are placed on CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pin {
    /// Gateway and bare proxy on CPU 0; load generator and fake upstream on CPU 1.
    Pinned,
    /// Every process may use every CPU.
    Unpinned,
}

impl std::fmt::Display for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pinned => "pinned",
            Self::Unpinned => "2-core",
        })
    }
}

/// Options of a suite run.
#[derive(Debug, Clone, clap::Args)]
pub struct Opts {
    /// Scenarios to run (default: all that exist).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub scenarios: Vec<Scenario>,
    /// Databases.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres"
    )]
    pub db: Vec<Db>,
    /// Pinning modes.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "pinned,unpinned"
    )]
    pub pin: Vec<Pin>,
    /// Measured seconds per load point and target.
    #[arg(long, default_value_t = 3.0)]
    pub duration: f64,
    /// Rounds the measured time is split into; each round visits direct, proxy and gateway in
    /// turn, so load from other work on the machine hits the three paths alike.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Warm-up seconds before each measured phase (discarded).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Open-loop request rates (requests/s) for the chat scenarios.
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    pub rates: Vec<f64>,
    /// Connections of the closed-loop (saturation) points; 0 skips them.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Concurrent open streams for the `streams` scenario.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000")]
    pub streams: Vec<usize>,
    /// Sessions (surfaceIds) the chat requests rotate over.
    #[arg(long, default_value_t = 1000)]
    pub sessions: u64,
    /// Open loop: requests outstanding beyond this are dropped and counted.
    #[arg(long, default_value_t = 4096)]
    pub max_in_flight: usize,
    /// Gateway binary (default: `$CARGO_TARGET_DIR/release/astra`, built first).
    #[arg(long)]
    pub astra_bin: Option<PathBuf>,
    /// Do not run `cargo build --release -p astra` first.
    #[arg(long)]
    pub no_build: bool,
    /// PostgreSQL server URL without a database; a fresh database is created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub pg_server: String,
    /// `ASTRA_PASSWORD_MEMORY_KIB` for the gateway (default: the gateway's own, 19456).
    #[arg(long)]
    pub password_kib: Option<u32>,
    /// Do not write `bench/results/<timestamp>.json`.
    #[arg(long)]
    pub no_json: bool,
    /// Fake upstream defaults.
    #[command(flatten)]
    pub fake: FakeConfig,
}

/// One measured phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    /// Scenario label (e.g. `chat`, `agents-304`).
    pub scenario: String,
    /// Database of the gateway.
    pub db: Db,
    /// Pinning mode.
    pub pin: Pin,
    /// `direct` (the fake), `proxy` (bare hop) or `gateway`.
    pub target: &'static str,
    /// Open-loop rate, requests/s.
    pub rate: Option<f64>,
    /// Closed-loop connections.
    pub connections: Option<usize>,
    /// Latency, throughput, errors.
    pub stats: PhaseStats,
    /// Resources of the process under test (gateway or proxy).
    pub usage: Option<Usage>,
    /// PostgreSQL only: committed transactions per successful gateway request.
    pub db_xacts_per_req: Option<f64>,
    /// PostgreSQL only: rows inserted, updated or deleted per successful gateway request.
    pub db_rows_written_per_req: Option<f64>,
}

/// How a phase loads its target.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// Fixed rate, requests/s.
    Open(f64),
    /// N connections at saturation.
    Closed(usize),
}

/// Everything a scenario needs.
pub struct Ctx<'a> {
    /// Options.
    pub opts: &'a Opts,
    /// Load client.
    pub client: reqwest::Client,
    /// Fake upstream's `/v1` base URL.
    pub fake_v1: String,
    /// Bare proxy's `/v1` base URL.
    pub proxy_v1: String,
    /// Bare proxy process id.
    pub proxy_pid: u32,
    /// Gateway base URL.
    pub gw: String,
    /// Gateway process id.
    pub gw_pid: u32,
    /// PostgreSQL server and database of the gateway, when on PostgreSQL.
    pub pg: Option<(String, String)>,
    /// Benchmark user and workspace.
    pub session: gateway::Session,
    /// Database.
    pub db: Db,
    /// Pinning.
    pub pin: Pin,
}

/// One path of a comparison: who it is, what it sends, which process is sampled.
pub struct Path {
    /// `direct`, `proxy` or `gateway`.
    pub who: &'static str,
    /// The request.
    pub target: Target,
    /// Process under test.
    pub pid: Option<u32>,
}

fn merge_usage(acc: Option<Usage>, u: Option<Usage>) -> Option<Usage> {
    match (acc, u) {
        (Some(a), Some(b)) => Some(Usage {
            rss_start_kib: a.rss_start_kib,
            peak_rss_kib: a.peak_rss_kib.max(b.peak_rss_kib),
            rss_end_kib: b.rss_end_kib,
            cpu_s: a.cpu_s + b.cpu_s,
        }),
        (a, b) => a.or(b),
    }
}

impl Ctx<'_> {
    async fn window(
        &self,
        target: &Arc<Target>,
        load: Load,
        d: Duration,
    ) -> anyhow::Result<Recorder> {
        match load {
            Load::Open(rate) => {
                load::open_loop(&self.client, target, rate, d, self.opts.max_in_flight).await
            }
            Load::Closed(n) => load::closed_loop(&self.client, target, n, d).await,
        }
    }

    /// Measures `paths` under the same `load`: each gets a discarded warm-up, then the measured
    /// time is split into `--rounds` rounds that visit the paths in turn, so interference from
    /// other work on the machine falls on all of them alike.
    pub async fn compare(
        &self,
        scenario: &str,
        paths: Vec<Path>,
        load: Load,
    ) -> anyhow::Result<Vec<Phase>> {
        let o = self.opts;
        let rounds = o.rounds.max(1);
        let slice = Duration::from_secs_f64((o.duration / rounds as f64).max(0.1));
        let paths: Vec<(Path, Arc<Target>)> = paths
            .into_iter()
            .map(|p| {
                let t = Arc::new(p.target.clone());
                (p, t)
            })
            .collect();
        if o.warmup > 0.0 {
            for (_, t) in &paths {
                self.window(t, load, Duration::from_secs_f64(o.warmup.max(0.1)))
                    .await?;
            }
        }
        let mut acc: Vec<(Recorder, Option<Usage>)> = Vec::new();
        for _ in 0..paths.len() {
            acc.push((Recorder::new()?, None));
        }
        let counters = || {
            let (server, name) = self.pg.as_ref()?;
            gateway::pg_counters(server, name)
        };
        let db0 = counters();
        for _ in 0..rounds {
            for ((p, t), (rec, usage)) in paths.iter().zip(acc.iter_mut()) {
                let (r, u) = procs::watched(p.pid, self.window(t, load, slice)).await;
                rec.merge(&r?)?;
                *usage = merge_usage(*usage, u);
            }
        }
        let db_delta = match db0 {
            Some((x0, w0)) if paths.iter().any(|(p, _)| p.who == "gateway") => {
                // pg_stat_database is flushed by backends about once a second.
                tokio::time::sleep(Duration::from_millis(1500)).await;
                counters().map(|(x1, w1)| (x1.saturating_sub(x0), w1.saturating_sub(w0)))
            }
            _ => None,
        };
        let (rate, connections) = match load {
            Load::Open(r) => (Some(r), None),
            Load::Closed(n) => (None, Some(n)),
        };
        let mut out = Vec::new();
        for ((p, _), (rec, usage)) in paths.iter().zip(acc) {
            let stats = rec.finish();
            let ok = stats.ok.max(1) as f64;
            let per_req = |v: u64| v as f64 / ok;
            let db = db_delta.filter(|_| p.who == "gateway");
            eprintln!(
                "  {scenario:<14} {:<8} {:<7} {:<7} {:>7} ok {:>5} err  p50 {:>8} µs  p99 {:>8} µs  {:>8.0}/s",
                self.db.to_string(),
                self.pin.to_string(),
                p.who,
                stats.ok,
                stats.error_count(),
                stats.latency.map_or(0, |p| p.p50_us),
                stats.latency.map_or(0, |p| p.p99_us),
                stats.throughput,
            );
            out.push(Phase {
                scenario: scenario.to_owned(),
                db: self.db,
                pin: self.pin,
                target: p.who,
                rate,
                connections,
                stats,
                usage,
                db_xacts_per_req: db.map(|d| per_req(d.0)),
                db_rows_written_per_req: db.map(|d| per_req(d.1)),
            });
        }
        Ok(out)
    }

    /// Measures one path (see [`Ctx::compare`]).
    pub async fn phase(
        &self,
        scenario: &str,
        who: &'static str,
        target: Target,
        load: Load,
        pid: Option<u32>,
    ) -> anyhow::Result<Phase> {
        let mut v = self
            .compare(scenario, vec![Path { who, target, pid }], load)
            .await?;
        v.pop().context("no phase measured")
    }
}

fn astra_bin(opts: &Opts) -> anyhow::Result<PathBuf> {
    if let Some(p) = &opts.astra_bin {
        return Ok(p.clone());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // The gateway goes next to this binary: same target directory, same profile.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.parent()?.to_path_buf())
        })
        .unwrap_or_else(|| root.join("target"));
    if !opts.no_build {
        eprintln!("building the gateway: cargo build --release -p astra --bin astra");
        let status =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "-p", "astra", "--bin", "astra"])
                .current_dir(&root)
                .status()
                .context("running cargo build")?;
        anyhow::ensure!(status.success(), "cargo build of the gateway failed");
    }
    Ok(target.join("release").join("astra"))
}

async fn start_helpers(
    pin: Pin,
    fake: &FakeConfig,
) -> anyhow::Result<(Proc, String, Proc, String)> {
    let (up, down) = match pin {
        Pin::Pinned => (Some("0"), Some("1")),
        Pin::Unpinned => (None, None),
    };
    let fake_args = vec![
        "fake".into(),
        "--port".into(),
        "0".into(),
        format!("--latency-ms={}", fake.latency_ms),
        format!("--chunk-delay-ms={}", fake.chunk_delay_ms),
        format!("--tokens={}", fake.tokens),
    ];
    let (fake_proc, fake_addr) = procs::spawn_self("fake upstream", &fake_args, down).await?;
    let fake_v1 = format!("http://{fake_addr}/v1");
    let proxy_args = vec![
        "proxy".into(),
        "--port".into(),
        "0".into(),
        "--upstream".into(),
        fake_v1.clone(),
    ];
    let (proxy_proc, proxy_addr) = procs::spawn_self("bare proxy", &proxy_args, up).await?;
    Ok((
        fake_proc,
        fake_v1,
        proxy_proc,
        format!("http://{proxy_addr}/v1"),
    ))
}

/// Runs the suite and prints the report.
pub async fn suite(mut opts: Opts) -> anyhow::Result<()> {
    if opts.scenarios.is_empty() {
        opts.scenarios = Scenario::all();
    }
    let bin = astra_bin(&opts)?;
    anyhow::ensure!(bin.exists(), "gateway binary {} not found", bin.display());
    let nofile = procs::raise_nofile(200_000);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let client = client::client(Duration::from_secs(60))?;
    let mut report = Report::new(&opts, nofile);
    for &pin in &opts.pin {
        if pin == Pin::Pinned {
            if cores < 2 {
                report.skip(format!("pinned mode needs 2 cores, found {cores}"));
                continue;
            }
            procs::pin_self("1")?;
        } else {
            procs::pin_self(&format!("0-{}", cores - 1))?;
        }
        let (fake_proc, fake_v1, proxy_proc, proxy_v1) = start_helpers(pin, &opts.fake).await?;
        for &db in &opts.db {
            eprintln!("== {db}, {pin} ==");
            let launch = Launch {
                bin: &bin,
                db,
                pg_server: &opts.pg_server,
                upstream: &fake_v1,
                cpus: (pin == Pin::Pinned).then_some("0"),
                password_kib: opts.password_kib,
            };
            let gw = match Gateway::start(&launch, &client).await {
                Ok(gw) => gw,
                Err(e) => {
                    report.skip(format!("{db}/{pin}: gateway did not start: {e:#}"));
                    continue;
                }
            };
            let session = match gateway::setup(&client, &gw.base).await {
                Ok(s) => s,
                Err(e) => {
                    report.skip(format!("{db}/{pin}: setup failed: {e:#}"));
                    gw.stop().await;
                    continue;
                }
            };
            let ctx = Ctx {
                opts: &opts,
                client: client.clone(),
                fake_v1: fake_v1.clone(),
                proxy_v1: proxy_v1.clone(),
                proxy_pid: proxy_proc.pid,
                gw: gw.base.clone(),
                gw_pid: gw.proc.pid,
                pg: gw.pg(),
                session,
                db,
                pin,
            };
            for &sc in &opts.scenarios {
                if let Err(e) = scenarios::run(&ctx, sc, &mut report).await {
                    report.skip(format!("{sc:?} on {db}/{pin}: {e:#}"));
                }
            }
            gw.stop().await;
        }
        fake_proc.stop().await;
        proxy_proc.stop().await;
    }
    procs::pin_self(&format!("0-{}", cores - 1)).ok();
    report::finish(report, !opts.no_json)
}
