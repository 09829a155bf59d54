//! The individual checks of a diagnostic run.

use std::{collections::HashMap, time::Instant};

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::Check;
use super::DiagnosticsEnv;

/// Window of the error-rate check.
const ERROR_WINDOW_MINUTES: i64 = 60;
/// Fewer turns than this in the window are too few to judge.
const ERROR_MIN_SAMPLE: i64 = 5;
/// Failed share of turns above which the check fails.
const ERROR_RATE_LIMIT: f64 = 0.2;

fn check(name: &str, ok: bool, started: Instant, detail: Value) -> Check {
    Check {
        name: name.to_string(),
        ok,
        latency_ms: (started.elapsed().as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        detail,
    }
}

/// A database round trip.
pub async fn database(env: &DiagnosticsEnv<'_>) -> Check {
    let started = Instant::now();
    let ok = env.store.ping().await;
    check(
        "database",
        ok,
        started,
        json!({ "engine": env.store.engine() }),
    )
}

/// Every migration shipped with this build is applied.
pub async fn migrations(env: &DiagnosticsEnv<'_>) -> Check {
    let started = Instant::now();
    match env.store.diagnostics().migration_status().await {
        Ok(status) => {
            let pending = status.pending();
            check(
                "migrations",
                pending.is_empty(),
                started,
                json!({
                    "applied": status.applied.len(), "expected": status.expected.len(),
                    "latest": status.applied.last(), "pending": pending,
                }),
            )
        }
        Err(e) => check(
            "migrations",
            false,
            started,
            json!({ "error": e.to_string() }),
        ),
    }
}

/// One check per known provider: configured or not, and its breaker. A provider fails when
/// its breaker is open, and the default provider also when it has no credentials.
pub fn providers(env: &DiagnosticsEnv<'_>) -> Vec<Check> {
    let started = Instant::now();
    let breakers: HashMap<String, _> = env
        .providers
        .breakers()
        .snapshot()
        .into_iter()
        .map(|b| (b.provider.clone(), b))
        .collect();
    let default = env.default_provider;
    env.providers
        .config()
        .providers
        .values()
        .map(|p| {
            let breaker = breakers.get(&p.id);
            let breaker_state = breaker.map_or("closed", |b| b.state);
            let is_default = p.id == default;
            let ok = breaker_state != "open" && (p.configured || !is_default);
            check(
                &format!("provider:{}", p.id),
                ok,
                started,
                json!({
                    "configured": p.configured, "default": is_default, "breaker": breaker_state,
                    "failures": breaker.map_or(0, |b| b.failures),
                    "openedAt": breaker.and_then(|b| b.opened_at),
                }),
            )
        })
        .collect()
}

/// The tool registry holds tools.
pub fn tools(env: &DiagnosticsEnv<'_>) -> Check {
    let started = Instant::now();
    let names: Vec<String> = env
        .tools
        .list()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    check(
        "tools",
        !names.is_empty(),
        started,
        json!({ "count": names.len(), "skills": env.skills.list().len(), "names": names }),
    )
}

/// The data directory accepts a file write.
pub async fn data_dir(env: &DiagnosticsEnv<'_>) -> Check {
    let started = Instant::now();
    let dir = env.data_dir.to_path_buf();
    let shown = dir.display().to_string();
    let probe = dir.join(format!(".diagnostics-{}", uuid::Uuid::now_v7().simple()));
    let result = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(&probe, b"ok")?;
        std::fs::remove_file(&probe)
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    let detail = match &result {
        Ok(()) => json!({ "path": shown }),
        Err(e) => json!({ "path": shown, "error": e.to_string() }),
    };
    check("dataDir", result.is_ok(), started, detail)
}

/// Share of agent turns that failed (error or timeout) in the last hour.
pub async fn error_rate(env: &DiagnosticsEnv<'_>) -> Check {
    let started = Instant::now();
    let since = Utc::now() - Duration::minutes(ERROR_WINDOW_MINUTES);
    match env.store.traces().trace_outcomes_since(since).await {
        Ok((total, failed)) => {
            let rate = if total > 0 {
                failed as f64 / total as f64
            } else {
                0.0
            };
            let ok = total < ERROR_MIN_SAMPLE || rate <= ERROR_RATE_LIMIT;
            check(
                "errorRate",
                ok,
                started,
                json!({
                    "windowMinutes": ERROR_WINDOW_MINUTES, "turns": total, "failed": failed,
                    "rate": rate, "threshold": ERROR_RATE_LIMIT,
                }),
            )
        }
        Err(e) => check(
            "errorRate",
            false,
            started,
            json!({ "error": e.to_string() }),
        ),
    }
}
