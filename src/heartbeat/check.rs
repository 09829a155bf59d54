//! The two checks: `http` (a GET that must answer 2xx in time) and `rss` (a feed that must
//! fetch and parse; items not seen by the previous run are reported as new).

use std::{collections::HashSet, time::Duration, time::Instant};

use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    net::{check_url, find_guard_error, parse_outbound_url},
    store::MonitorRow,
};

/// Most bytes of a feed read.
const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;
/// Item ids remembered between runs.
const MAX_SEEN: usize = 500;
/// New items listed in a run's detail.
const MAX_LISTED: usize = 20;

/// What one run found.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// The check passed.
    pub ok: bool,
    /// Wall time.
    pub latency_ms: i64,
    /// `httpStatus`, feed counts, or `error`.
    pub detail: Value,
    /// Item ids to remember (RSS; the previous ones again for a failed run).
    pub seen: Vec<String>,
}

/// Runs `monitor`'s check within `timeout`.
pub async fn run(
    client: &Client,
    monitor: &MonitorRow,
    timeout: Duration,
    allow_private: bool,
) -> CheckResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, fetch_and_judge(client, monitor, allow_private))
        .await
        .unwrap_or_else(|_| Err((None, format!("timed out after {} ms", timeout.as_millis()))));
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    match outcome {
        Ok((detail, seen)) => CheckResult {
            ok: true,
            latency_ms,
            detail,
            seen,
        },
        Err((status, error)) => {
            let mut detail = json!({ "error": error });
            if let Some(s) = status {
                detail["httpStatus"] = json!(s);
            }
            CheckResult {
                ok: false,
                latency_ms,
                detail,
                seen: monitor.seen.0.clone(),
            }
        }
    }
}

type Judged = Result<(Value, Vec<String>), (Option<u16>, String)>;

async fn fetch_and_judge(client: &Client, monitor: &MonitorRow, allow_private: bool) -> Judged {
    let url = parse_outbound_url(&monitor.url)
        .and_then(|u| check_url(&u, allow_private).map(|()| u))
        .map_err(|e| (None, e.to_string()))?;
    let mut response = client.get(url).send().await.map_err(|e| {
        let cause = match find_guard_error(&e) {
            Some(g) => g.to_string(),
            None if e.is_timeout() => "timed out".into(),
            None if e.is_connect() => "connection failed".into(),
            None => e.without_url().to_string(),
        };
        (None, cause)
    })?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Err((Some(status), format!("HTTP {status}")));
    }
    if monitor.monitor_type != "rss" {
        return Ok((json!({ "httpStatus": status }), Vec::new()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        (
            Some(status),
            format!("reading the feed: {}", e.without_url()),
        )
    })? {
        if body.len() + chunk.len() > MAX_FEED_BYTES {
            return Err((Some(status), "feed is larger than 5 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    let feed = feed_rs::parser::parse(body.as_slice())
        .map_err(|e| (Some(status), format!("not a valid feed: {e}")))?;
    let previous: HashSet<&str> = monitor.seen.0.iter().map(String::as_str).collect();
    let fresh: Vec<Value> = feed
        .entries
        .iter()
        .filter(|e| !previous.contains(e.id.as_str()))
        .map(|e| {
            json!({
                "id": e.id,
                "title": e.title.as_ref().map(|t| t.content.clone()),
                "link": e.links.first().map(|l| l.href.clone()),
            })
        })
        .collect();
    let seen = feed
        .entries
        .iter()
        .take(MAX_SEEN)
        .map(|e| e.id.clone())
        .collect();
    let detail = json!({
        "httpStatus": status,
        "feedTitle": feed.title.map(|t| t.content),
        "itemCount": feed.entries.len(),
        "newItems": fresh.len(),
        "items": fresh.into_iter().take(MAX_LISTED).collect::<Vec<_>>(),
    });
    Ok((detail, seen))
}
