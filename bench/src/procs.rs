//! Child processes (fake upstream, bare proxy, gateway), CPU pinning with `taskset`, the open-file
//! limit, and resource readings from `/proc`: RSS, peak RSS and CPU time.

use std::{
    future::Future,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// The line a harness child prints once it listens: `astra-bench listening on 127.0.0.1:PORT`.
pub const LISTENING: &str = "astra-bench listening on ";

/// A child process killed when dropped.
pub struct Proc {
    /// What it is, for messages.
    pub name: String,
    /// OS process id.
    pub pid: u32,
    child: Child,
}

impl Proc {
    /// Kills the process and waits for it (bounded).
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A command for `program`, under `taskset -c cpus` when `cpus` is set.
pub fn command(program: &Path, cpus: Option<&str>) -> Command {
    let mut cmd = match cpus {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(c).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    cmd.kill_on_drop(true).stdin(Stdio::null());
    cmd
}

/// Starts this binary with `args` (a `fake` or `proxy` subcommand on port 0) and reads the
/// address it reports.
pub async fn spawn_self(
    name: &str,
    args: &[String],
    cpus: Option<&str>,
) -> anyhow::Result<(Proc, SocketAddr)> {
    let exe = std::env::current_exe().context("current_exe")?;
    let mut cmd = command(&exe, cpus);
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
    let pid = child.id().context("child pid")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .with_context(|| format!("{name} did not report its address"))??
        .with_context(|| format!("{name} exited before listening"))?;
    let addr = line
        .strip_prefix(LISTENING)
        .with_context(|| format!("{name}: unexpected first line {line:?}"))?
        .trim()
        .parse()?;
    Ok((
        Proc {
            name: name.to_owned(),
            pid,
            child,
        },
        addr,
    ))
}

/// Wraps a spawned child.
pub fn adopt(name: &str, child: Child) -> anyhow::Result<Proc> {
    Ok(Proc {
        name: name.to_owned(),
        pid: child.id().context("child pid")?,
        child,
    })
}

/// Polls `url` until it answers 200, the process dies, or `timeout` passes.
pub async fn wait_http_ok(
    client: &reqwest::Client,
    url: &str,
    proc: &mut Proc,
    timeout: Duration,
) -> anyhow::Result<()> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if !proc.alive() {
            bail!("{} exited during start-up", proc.name);
        }
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} not ready at {url} after {timeout:?}", proc.name)
}

/// A free loopback port (bound then released; good enough for a child's `PORT`).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Pins every thread of this process to `cpus` (new threads inherit it).
pub fn pin_self(cpus: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset -a -p -c {cpus} failed");
    }
    Ok(())
}

/// Raises the open-file limit (10 000 streams need ~20 000 sockets in the gateway); children
/// inherit it. Returns the soft limit in force.
pub fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    let raised = libc::rlimit {
        rlim_cur: want.max(lim.rlim_cur),
        rlim_max: want.max(lim.rlim_max),
    };
    // SAFETY: `raised` is a valid rlimit; failure (no privilege) is handled below.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return raised.rlim_cur;
    }
    let soft = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above; the soft limit may always rise to the hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &soft) } == 0 {
        lim.rlim_max
    } else {
        lim.rlim_cur
    }
}

/// Resident set size now and its peak (VmRSS, VmHWM), KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Resets the process's peak RSS (VmHWM) to its current RSS, so a phase reads its own peak.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User + system CPU time of a process, seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = if hz > 0 { hz as f64 } else { 100.0 };
    Some((utime + stime) as f64 / hz)
}

/// Resource use of one process during a phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Usage {
    /// RSS when the phase started, KiB.
    pub rss_start_kib: u64,
    /// Largest RSS seen (sampled every 50 ms, and VmHWM when it could be reset), KiB.
    pub peak_rss_kib: u64,
    /// RSS when the phase ended, KiB.
    pub rss_end_kib: u64,
    /// CPU seconds (user + system) spent during the phase.
    pub cpu_s: f64,
}

/// Runs `fut` while sampling process `pid`'s RSS and CPU time.
pub async fn watched<F: Future>(pid: Option<u32>, fut: F) -> (F::Output, Option<Usage>) {
    let Some(pid) = pid else {
        return (fut.await, None);
    };
    let hwm_ok = reset_peak(pid);
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let start = rss_kib(pid).map_or(0, |r| r.0);
    let mut peak = start;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tokio::pin!(fut);
    let out = loop {
        tokio::select! {
            out = &mut fut => break out,
            _ = tick.tick() => {
                if let Some((rss, _)) = rss_kib(pid) { peak = peak.max(rss); }
            }
        }
    };
    let (end, hwm) = rss_kib(pid).unwrap_or((0, 0));
    if hwm_ok {
        peak = peak.max(hwm);
    }
    let usage = Usage {
        rss_start_kib: start,
        peak_rss_kib: peak.max(end),
        rss_end_kib: end,
        cpu_s: cpu_seconds(pid).unwrap_or(cpu0) - cpu0,
    };
    (out, Some(usage))
}
