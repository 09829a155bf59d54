//! The report: one table row per gateway load point with its overhead over the direct request and
//! the bare hop's overhead in the same run, a table of held streams, the machine, and the raw
//! results as JSON in `bench/results/<timestamp>.json`.

use std::{
    fmt::Write as _,
    path::PathBuf,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::Serialize;

use crate::{
    gateway::Db,
    hold::HoldStats,
    load::Percentiles,
    run::{Opts, Phase, Pin},
};

/// Streams held against one server.
#[derive(Debug, Clone, Serialize)]
pub struct HoldResult {
    /// Database of the gateway.
    pub db: Db,
    /// Pinning.
    pub pin: Pin,
    /// `gateway` or `proxy`.
    pub target: &'static str,
    /// Measurements.
    pub stats: HoldStats,
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical CPUs available to the harness.
    pub cores: usize,
    /// CPU model.
    pub cpu: String,
    /// Total memory, MiB.
    pub memory_mib: u64,
    /// Kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when the run started (other work on a shared machine shows here).
    pub loadavg_start: String,
    /// `/proc/loadavg` when it ended.
    pub loadavg_end: String,
    /// Open-file limit in force.
    pub nofile: u64,
}

impl Machine {
    fn read(nofile: u64) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                .unwrap_or_default(),
            memory_mib: mem_kib / 1024,
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            loadavg_start: read_trim("/proc/loadavg"),
            loadavg_end: String::new(),
            nofile,
        }
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Which percentiles of a phase a table row shows.
type Pick = fn(&Phase) -> Option<Percentiles>;

/// One line of the printed table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Scenario (with `ttfc`/`done` for streams).
    pub scenario: String,
    /// Database.
    pub db: Db,
    /// Pinning.
    pub pin: Pin,
    /// `100/s` or `sat×64`.
    pub load: String,
    /// Gateway p50 / p99, µs.
    pub p50_us: u64,
    /// Gateway p99, µs.
    pub p99_us: u64,
    /// Gateway − direct at p50 / p99, µs.
    pub overhead_us: Option<(i64, i64)>,
    /// Bare proxy − direct at p50 / p99, µs.
    pub bare_overhead_us: Option<(i64, i64)>,
    /// Successful requests per second.
    pub throughput: f64,
    /// Failed requests.
    pub errors: u64,
    /// Gateway peak RSS, KiB.
    pub peak_rss_kib: Option<u64>,
    /// Gateway CPU seconds per 1 000 successful requests.
    pub cpu_s_per_1k: Option<f64>,
    /// PostgreSQL transactions committed per request.
    pub db_xacts_per_req: Option<f64>,
    /// PostgreSQL rows written per request.
    pub db_rows_written_per_req: Option<f64>,
}

/// Everything a run produced.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Start time, UTC.
    pub started: String,
    /// The machine.
    pub machine: Machine,
    /// Options, as given.
    pub options: serde_json::Value,
    /// Every measured phase.
    pub phases: Vec<Phase>,
    /// Held-stream measurements.
    pub holds: Vec<HoldResult>,
    /// The printed rows.
    pub rows: Vec<Row>,
    /// Scenarios that could not run, and why.
    pub skipped: Vec<String>,
}

impl Report {
    /// An empty report for a run with `opts`.
    pub fn new(opts: &Opts, nofile: u64) -> Self {
        let options = serde_json::json!({
            "scenarios": opts.scenarios.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>(),
            "db": opts.db, "pin": opts.pin, "duration_s": opts.duration, "warmup_s": opts.warmup, "rounds": opts.rounds,
            "rates": opts.rates, "connections": opts.connections, "streams": opts.streams,
            "sessions": opts.sessions, "max_in_flight": opts.max_in_flight,
            "password_kib": opts.password_kib,
            "fake": {"latency_ms": opts.fake.latency_ms, "chunk_delay_ms": opts.fake.chunk_delay_ms,
                     "tokens": opts.fake.tokens},
        });
        Self {
            started: utc_stamp(true),
            machine: Machine::read(nofile),
            options,
            phases: Vec::new(),
            holds: Vec::new(),
            rows: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Adds a measured phase.
    pub fn push(&mut self, p: Phase) {
        self.phases.push(p);
    }

    /// Adds a hold measurement.
    pub fn hold(&mut self, h: HoldResult) {
        self.holds.push(h);
    }

    /// Records a scenario that could not run.
    pub fn skip(&mut self, why: String) {
        eprintln!("  skipped: {why}");
        self.skipped.push(why);
    }

    fn baseline(&self, g: &Phase, who: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| {
            p.target == who
                && p.scenario == g.scenario
                && p.db == g.db
                && p.pin == g.pin
                && p.rate == g.rate
                && p.connections == g.connections
        })
    }

    fn build_rows(&mut self) {
        let mut rows = Vec::new();
        for g in self.phases.iter().filter(|p| p.target != "direct") {
            let bare = g.target == "proxy";
            let views: Vec<(String, Pick)> = if g.scenario == "stream" {
                vec![
                    ("stream ttfc".into(), |p| p.stats.first_content),
                    ("stream done".into(), |p| p.stats.latency),
                ]
            } else {
                vec![(g.scenario.clone(), |p| p.stats.latency)]
            };
            for (mut name, pick) in views {
                if bare {
                    name.push_str(" (bare)");
                } else if g.target != "gateway" {
                    // Gateway variants compared in one scenario (`conversation`: fresh, 10k).
                    name.push_str(&format!(" ({})", g.target));
                }
                let Some(gp) = pick(g) else { continue };
                let direct = self.baseline(g, "direct").and_then(pick);
                let proxy = self.baseline(g, "proxy").and_then(pick);
                let minus = |a: Option<Percentiles>, b: Option<Percentiles>| {
                    let (a, b) = (a?, b?);
                    Some((signed(a.p50_us, b.p50_us), signed(a.p99_us, b.p99_us)))
                };
                let ok = g.stats.ok.max(1) as f64;
                rows.push(Row {
                    scenario: name,
                    db: g.db,
                    pin: g.pin,
                    load: match (g.rate, g.connections) {
                        (Some(r), _) => format!("{r:.0}/s"),
                        (_, Some(c)) => format!("sat×{c}"),
                        _ => "-".into(),
                    },
                    p50_us: gp.p50_us,
                    p99_us: gp.p99_us,
                    overhead_us: minus(Some(gp), direct),
                    bare_overhead_us: if bare { None } else { minus(proxy, direct) },
                    throughput: g.stats.throughput,
                    errors: g.stats.error_count(),
                    peak_rss_kib: g.usage.map(|u| u.peak_rss_kib),
                    cpu_s_per_1k: g.usage.map(|u| u.cpu_s / ok * 1000.0),
                    db_xacts_per_req: g.db_xacts_per_req,
                    db_rows_written_per_req: g.db_rows_written_per_req,
                });
            }
        }
        self.rows = rows;
    }

    /// The table as text.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let _ = writeln!(
            s,
            "\nAstra bench — {} — {} cores ({}), {} MiB, kernel {}, load avg {} → {}",
            self.started, m.cores, m.cpu, m.memory_mib, m.kernel, m.loadavg_start, m.loadavg_end
        );
        let _ = writeln!(
            s,
            "Latencies in ms; overhead = gateway − direct to the fake, bare = proxy − direct, \
                             same run; ratio = overhead / bare (target ≤ 3 at 100 and 500/s).\n"
        );
        let _ = writeln!(
            s,
            "{:<18} {:<8} {:<6} {:>7} | {:>8} {:>8} | {:>7} {:>7} | {:>7} {:>7} | {:>9} | {:>8} {:>6} {:>8} {:>9} {:>11}",
            "scenario",
            "db",
            "pin",
            "load",
            "p50",
            "p99",
            "ovh p50",
            "ovh p99",
            "bare50",
            "bare99",
            "ratio",
            "req/s",
            "errors",
            "peak MB",
            "CPU s/1k",
            "pg tx/rows"
        );
        for r in &self.rows {
            let pair = |v: Option<(i64, i64)>, i: usize| {
                v.map_or("-".into(), |p| ms(if i == 0 { p.0 } else { p.1 }))
            };
            let ratio = match (r.overhead_us, r.bare_overhead_us) {
                (Some(o), Some(b)) => format!("{}/{}", ratio(o.0, b.0), ratio(o.1, b.1)),
                _ => "-".into(),
            };
            let _ = writeln!(
                s,
                "{:<18} {:<8} {:<6} {:>7} | {:>8} {:>8} | {:>7} {:>7} | {:>7} {:>7} | {:>9} | {:>8.0} {:>6} {:>8} {:>9} {:>11}",
                r.scenario,
                r.db.to_string(),
                r.pin.to_string(),
                r.load,
                ms(r.p50_us as i64),
                ms(r.p99_us as i64),
                pair(r.overhead_us, 0),
                pair(r.overhead_us, 1),
                pair(r.bare_overhead_us, 0),
                pair(r.bare_overhead_us, 1),
                ratio,
                r.throughput,
                r.errors,
                r.peak_rss_kib
                    .map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0)),
                r.cpu_s_per_1k.map_or("-".into(), |c| format!("{c:.3}")),
                match (r.db_xacts_per_req, r.db_rows_written_per_req) {
                    (Some(x), Some(w)) => format!("{x:.1}/{w:.1}"),
                    _ => "-".into(),
                }
            );
        }
        if !self.holds.is_empty() {
            let _ = writeln!(
                s,
                "\nOpen SSE streams (held {}s after the last one delivered content)",
                3
            );
            let _ = writeln!(
                s,
                "{:<8} {:<8} {:<8} {:>7} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>12} {:>8}",
                "db",
                "pin",
                "target",
                "streams",
                "open",
                "failed",
                "ended",
                "RSS0 MB",
                "RSS MB",
                "peak MB",
                "after MB",
                "KiB/stream",
                "ramp s"
            );
            for h in &self.holds {
                let st = &h.stats;
                let mb = |k: u64| format!("{:.1}", k as f64 / 1024.0);
                let _ = writeln!(
                    s,
                    "{:<8} {:<8} {:<8} {:>7} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>12.1} {:>8.1}",
                    h.db.to_string(),
                    h.pin.to_string(),
                    h.target,
                    st.requested,
                    st.established,
                    st.failed,
                    st.ended_early,
                    mb(st.rss_before_kib),
                    mb(st.rss_hold_kib),
                    mb(st.rss_peak_kib),
                    mb(st.rss_after_kib),
                    st.per_stream_kib,
                    st.establish_s
                );
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(s, "\nSkipped:");
            for k in &self.skipped {
                let _ = writeln!(s, "  - {k}");
            }
        }
        s
    }
}

fn signed(a: u64, b: u64) -> i64 {
    i64::try_from(a).unwrap_or(i64::MAX) - i64::try_from(b).unwrap_or(i64::MAX)
}

fn ms(us: i64) -> String {
    let v = us as f64 / 1000.0;
    if v.abs() < 10.0 {
        format!("{v:.3}")
    } else if v.abs() < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

fn ratio(over: i64, bare: i64) -> String {
    if bare <= 0 {
        "∞".into()
    } else {
        format!("{:.1}", over as f64 / bare as f64)
    }
}

/// Current UTC time as `2026-11-01T12:00:00Z`, or `20261101T120000Z` when `!pretty`.
pub fn utc_stamp(pretty: bool) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if pretty {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }
}

/// Prints the table and writes the JSON results.
pub fn finish(mut report: Report, json: bool) -> anyhow::Result<()> {
    report.machine.loadavg_end = read_trim("/proc/loadavg");
    report.build_rows();
    println!("{}", report.table());
    if json {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", utc_stamp(false)));
        std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
        println!("raw results: {}", path.display());
    }
    Ok(())
}
