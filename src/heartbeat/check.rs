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
    judge_feed(&body, status, &monitor.seen.0)
}

/// Parses a fetched feed (untrusted bytes): its counts and new items against the ids seen
/// by the previous run (`seen`), and the ids to remember.
fn judge_feed(body: &[u8], status: u16, seen: &[String]) -> Judged {
    let feed = feed_rs::parser::parse(body)
        .map_err(|e| (Some(status), format!("not a valid feed: {e}")))?;
    let previous: HashSet<&str> = seen.iter().map(String::as_str).collect();
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

/// Property tests (issue #12): feed bytes come from a tenant's URL, so any input must end in
/// a verdict, never a panic, with bounded output; a well-formed feed's ids and titles come
/// back as written.
#[cfg(test)]
mod prop {
    use proptest::prelude::*;

    use super::{MAX_LISTED, MAX_SEEN, judge_feed};

    fn xml_escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    }

    fn rss(items: &[(String, String)]) -> String {
        let body: String = items
            .iter()
            .map(|(id, title)| {
                format!(
                    "<item><guid>{}</guid><title>{}</title><link>https://example.com/{}</link></item>",
                    xml_escape(id),
                    xml_escape(title),
                    xml_escape(id)
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>{body}</channel></rss>"
        )
    }

    /// Bytes that look like a feed often enough to get past the first tag.
    fn feedish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "<?xml version=\"1.0\"?>",
                "<rss version=\"2.0\">",
                "<channel>",
                "</channel>",
                "<item>",
                "</item>",
                "<title>",
                "</title>",
                "<guid>",
                "</guid>",
                "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
                "<entry>",
                "<id>",
                "</id>",
                "&amp;",
                "&bogus;",
                "<![CDATA[",
                "]]>",
                "{\"version\": \"https://jsonfeed.org/version/1\"",
                "\"items\": [",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..10),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    /// An item title or id: printable, with the characters XML must escape, no outer spaces.
    fn text() -> impl Strategy<Value = String> {
        "[A-Za-z0-9&<>\"'é][A-Za-z0-9 &<>\"'é]{0,18}[A-Za-z0-9&<>\"'é]"
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_get_a_verdict(bytes in feedish(), seen in prop::collection::vec("[a-z]{1,3}", 0..4)) {
            if let Ok((detail, remembered)) = judge_feed(&bytes, 200, &seen) {
                prop_assert!(remembered.len() <= MAX_SEEN);
                prop_assert!(detail["items"].as_array().map_or(0, Vec::len) <= MAX_LISTED);
            }
        }

        #[test]
        fn a_feed_round_trips(
            items in prop::collection::btree_map(text(), text(), 0..8),
            known in 0usize..8,
        ) {
            let items: Vec<(String, String)> = items.into_iter().collect();
            let seen: Vec<String> = items.iter().take(known).map(|(id, _)| id.clone()).collect();
            let (detail, remembered) = judge_feed(rss(&items).as_bytes(), 200, &seen)
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
            prop_assert_eq!(remembered, ids);
            prop_assert_eq!(detail["itemCount"].as_u64(), Some(items.len() as u64));
            prop_assert_eq!(detail["newItems"].as_u64(), Some((items.len() - seen.len()) as u64));
            let fresh = &items[seen.len()..];
            for (item, (id, title)) in detail["items"].as_array().into_iter().flatten().zip(fresh) {
                prop_assert_eq!(item["id"].as_str(), Some(id.as_str()));
                prop_assert_eq!(item["title"].as_str(), Some(title.as_str()));
            }
        }
    }

    /// A feed far longer than what is kept: parsed, with what is kept and listed bounded.
    #[test]
    fn a_long_feed_is_bounded() {
        let items: Vec<(String, String)> = (0..2_000)
            .map(|i| (format!("id-{i}"), format!("title {i} & more")))
            .collect();
        let (detail, remembered) = judge_feed(rss(&items).as_bytes(), 200, &[]).unwrap();
        assert_eq!(detail["itemCount"], 2_000);
        assert_eq!(remembered.len(), MAX_SEEN);
        assert_eq!(detail["items"].as_array().map(Vec::len), Some(MAX_LISTED));
    }
}
