//! Diagnostics: a set of timed checks over the database, migrations, inference providers and
//! their breakers, the tool registry, the data directory and the recent error rate.
//!
//! A full run is stored (`diagnostic_runs`) so operators can compare runs over time; the quick
//! run checks connectivity only and is not stored. Checks never call a provider: a provider's
//! health is what its circuit breaker has observed from real traffic.

mod checks;

/// Process memory (read by the metrics too, so it lives with them).
pub use crate::observability::process;

use std::{path::Path, time::Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

use crate::{
    providers::ProviderRegistry,
    skills::SkillRegistry,
    store::{DiagnosticRunRow, Store, ids::new_id},
    tools::ToolRegistry,
};

/// What the checks look at: the database, the providers and their breakers, the registries,
/// the default provider and the data directory.
#[derive(Clone, Copy)]
pub struct DiagnosticsEnv<'a> {
    /// Database.
    pub store: &'a Store,
    /// Providers and their circuit breakers.
    pub providers: &'a ProviderRegistry,
    /// Tools agents may call.
    pub tools: &'a ToolRegistry,
    /// Skills.
    pub skills: &'a SkillRegistry,
    /// The provider used when an agent names none (it must have credentials).
    pub default_provider: &'a str,
    /// Where the gateway writes its files.
    pub data_dir: &'a Path,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `database`, `migrations`, `provider:<id>`, `tools`, `dataDir`, `errorRate`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Time the check took, in milliseconds.
    pub latency_ms: f64,
    /// What was seen.
    pub detail: Value,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `diag_…` for stored runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// True when every check passed.
    pub ok: bool,
    /// Start of the run.
    pub created_at: DateTime<Utc>,
    /// Wall time of the run.
    pub duration_ms: i64,
    /// The checks, in order.
    pub checks: Vec<Check>,
}

impl Report {
    fn new(checks: Vec<Check>, started: Instant, created_at: DateTime<Utc>) -> Self {
        let ok = checks.iter().all(|c| c.ok);
        Self {
            id: None,
            status: if ok { "ok" } else { "degraded" },
            ok,
            created_at,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            checks,
        }
    }

    /// Rebuilds a stored run.
    pub fn from_row(row: DiagnosticRunRow) -> Self {
        let checks = serde_json::from_value(row.checks.0).unwrap_or_default();
        Self {
            id: Some(row.id),
            status: if row.ok { "ok" } else { "degraded" },
            ok: row.ok,
            created_at: row.created_at,
            duration_ms: row.duration_ms,
            checks,
        }
    }
}

/// Connectivity only: the database and the providers' breakers; not stored.
pub async fn quick(env: &DiagnosticsEnv<'_>) -> Report {
    let started = Instant::now();
    let created_at = Utc::now();
    let mut list = vec![checks::database(env).await];
    list.extend(checks::providers(env));
    Report::new(list, started, created_at)
}

/// Every check; the run is stored.
pub async fn full(env: &DiagnosticsEnv<'_>) -> Result<Report, sqlx::Error> {
    let started = Instant::now();
    let created_at = Utc::now();
    let mut list = vec![checks::database(env).await, checks::migrations(env).await];
    list.extend(checks::providers(env));
    list.push(checks::tools(env));
    list.push(checks::data_dir(env).await);
    list.push(checks::error_rate(env).await);
    let mut report = Report::new(list, started, created_at);
    let id = new_id("diag");
    // Checks are plain data; a failure here is a bug worth surfacing, not a silent `null`.
    let checks = serde_json::to_value(&report.checks).map_err(|e| sqlx::Error::Encode(e.into()))?;
    env.store
        .diagnostics()
        .insert_diagnostic_run(&DiagnosticRunRow {
            id: id.clone(),
            ok: report.ok,
            checks: Json(checks),
            duration_ms: report.duration_ms,
            created_at,
        })
        .await?;
    report.id = Some(id);
    Ok(report)
}

/// Stored runs, newest first.
pub async fn history(store: &Store, limit: i64) -> Result<Vec<Report>, sqlx::Error> {
    Ok(store
        .diagnostics()
        .diagnostic_runs(limit)
        .await?
        .into_iter()
        .map(Report::from_row)
        .collect())
}
