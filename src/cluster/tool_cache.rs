//! The tool result cache in Redis, shared by every replica: a result cached on one replica
//! answers the same call on the others, and stats and clearing see every replica's entries.
//!
//! Keys (under the gateway's prefix): `tc:e:<member>` holds one result (JSON text) and
//! expires with the cache TTL, where `<member>` is `<workspace>|<tool>|<sha256 of the
//! canonical arguments>`; `tc:idx` (every member, scored by expiry) and `tc:sizes` (member →
//! bytes) with the total in `tc:bytes` bound the cache's size across the cluster: a write first
//! drops expired members, then the oldest until the new entry fits; `tc:ws:<workspace>` lists
//! a workspace's members for its stats and clearing; `tc:n:<workspace>` counts hits and
//! misses per tool (`h:<tool>`, `m:<tool>`) and `tc:n` the totals. Each write and each clear
//! is one Lua script, so concurrent replicas never see half an entry.
//!
//! The scripts derive keys from members, so they need one Redis (or one shard), not a Redis
//! Cluster spreading keys over slots.

use std::{collections::BTreeMap, sync::LazyLock, time::Duration};

use redis::Script;
use sha2::Digest;

use super::{Redis, Unavailable, now_ms};

/// Hit and miss counters are kept this long after their last change.
const COUNTERS_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Expired members dropped per write at most (the rest go with later writes).
const PURGE_BATCH: i64 = 100;

/// Looks a result up and counts a hit or a miss.
static GET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local v = redis.call('GET', KEYS[1])
local kind = 'm'
if v then kind = 'h' end
redis.call('HINCRBY', KEYS[2], kind .. ':' .. ARGV[1], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('HINCRBY', KEYS[3], kind, 1)
return v
",
    )
});

/// The shared part of the write and clear scripts: `drop(member)` removes an entry and its
/// bookkeeping.
const DROP: &str = r"
local p = ARGV[1]
local idx, sizes, total = p .. 'tc:idx', p .. 'tc:sizes', p .. 'tc:bytes'
local function ws_of(member) return string.match(member, '^([^|]*)|') or '' end
local function drop(member)
  local size = tonumber(redis.call('HGET', sizes, member) or '0')
  if redis.call('ZREM', idx, member) == 1 or size > 0 then
    redis.call('HDEL', sizes, member)
    redis.call('DECRBY', total, size)
  end
  redis.call('ZREM', p .. 'tc:ws:' .. ws_of(member), member)
  return redis.call('DEL', p .. 'tc:e:' .. member)
end
";

/// ARGV: prefix, member, value, bytes, ttl ms, now ms, max bytes, purge batch.
static PUT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{DROP}
local m, v = ARGV[2], ARGV[3]
local bytes, ttl, now, max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
drop(m)
if bytes > max then return 0 end
for _, old in ipairs(redis.call('ZRANGEBYSCORE', idx, '-inf', now, 'LIMIT', 0, tonumber(ARGV[8]))) do
  drop(old)
end
while tonumber(redis.call('GET', total) or '0') + bytes > max do
  local oldest = redis.call('ZRANGE', idx, 0, 0)
  if #oldest == 0 then break end
  drop(oldest[1])
end
redis.call('SET', p .. 'tc:e:' .. m, v, 'PX', ttl)
redis.call('ZADD', idx, now + ttl, m)
redis.call('ZADD', p .. 'tc:ws:' .. ws_of(m), now + ttl, m)
redis.call('HSET', sizes, m, bytes)
redis.call('INCRBY', total, bytes)
return 1
"
    ))
});

/// ARGV: prefix, workspace, tool ('' = every tool), now ms. Returns the live entries dropped.
static CLEAR: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        r"{DROP}
local ws, tool, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local stem = ws .. '|' .. tool .. '|'
local cleared = 0
local members = redis.call('ZRANGE', p .. 'tc:ws:' .. ws, 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local m, expiry = members[i], tonumber(members[i + 1])
  if tool == '' or string.sub(m, 1, #stem) == stem then
    drop(m)
    if expiry > now then cleared = cleared + 1 end
  end
end
return cleared
",
    ))
});

/// What the shared cache holds and counted for one workspace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WorkspaceFigures {
    /// Per tool with live entries: (entries, bytes).
    pub entries: BTreeMap<String, (usize, usize)>,
    /// Per tool looked up: (hits, misses).
    pub counters: BTreeMap<String, (u64, u64)>,
}

/// `<workspace>|<tool>|<sha256 of the arguments' text>`.
fn member(workspace: &str, tool: &str, args: &str) -> String {
    let digest = sha2::Sha256::digest(args.as_bytes());
    format!("{workspace}|{tool}|{}", hex::encode(digest))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The cached result text of a call, counting a hit or a miss.
pub async fn get(
    redis: &Redis,
    workspace: &str,
    tool: &str,
    args: &str,
) -> Result<Option<String>, Unavailable> {
    let entry = redis.key(&format!("tc:e:{}", member(workspace, tool, args)));
    let counters = redis.key(&format!("tc:n:{workspace}"));
    let totals = redis.key("tc:n");
    redis
        .script(
            &GET,
            &[&entry, &counters, &totals],
            &[tool.to_string(), COUNTERS_TTL_MS.to_string()],
        )
        .await
}

/// Stores a result text of `bytes` (as the caller accounts it) for `ttl`, evicting the oldest
/// entries of the whole cluster while the total would exceed `max_bytes`; false when the
/// result alone is larger than that.
pub async fn put(
    redis: &Redis,
    key: (&str, &str, &str),
    value: &str,
    bytes: usize,
    ttl: Duration,
    max_bytes: usize,
) -> Result<bool, Unavailable> {
    let (workspace, tool, args) = key;
    let prefix = redis.key("");
    let stored: i64 = redis
        .script(
            &PUT,
            &[],
            &[
                prefix,
                member(workspace, tool, args),
                value.to_string(),
                bytes.to_string(),
                millis(ttl).max(1).to_string(),
                now_ms().to_string(),
                max_bytes.to_string(),
                PURGE_BATCH.to_string(),
            ],
        )
        .await?;
    Ok(stored == 1)
}

/// Drops `workspace`'s entries (of one tool, or all) on every replica; returns how many live
/// ones went.
pub async fn clear(
    redis: &Redis,
    workspace: &str,
    tool: Option<&str>,
) -> Result<usize, Unavailable> {
    let cleared: i64 = redis
        .script(
            &CLEAR,
            &[],
            &[
                redis.key(""),
                workspace.to_string(),
                tool.unwrap_or("").to_string(),
                now_ms().to_string(),
            ],
        )
        .await?;
    Ok(usize::try_from(cleared).unwrap_or(0))
}

/// The live entries and the counters of one workspace.
pub async fn workspace_figures(
    redis: &Redis,
    workspace: &str,
) -> Result<WorkspaceFigures, Unavailable> {
    let members: Vec<String> = redis
        .query(
            redis::cmd("ZRANGEBYSCORE")
                .arg(redis.key(&format!("tc:ws:{workspace}")))
                .arg(format!("({}", now_ms()))
                .arg("+inf"),
        )
        .await?;
    let mut figures = WorkspaceFigures::default();
    if !members.is_empty() {
        let sizes: Vec<Option<usize>> = redis
            .query(redis::cmd("HMGET").arg(redis.key("tc:sizes")).arg(&members))
            .await?;
        for (m, size) in members.iter().zip(sizes) {
            let tool = m.split('|').nth(1).unwrap_or_default();
            let slot = figures.entries.entry(tool.to_string()).or_default();
            slot.0 += 1;
            slot.1 += size.unwrap_or(0);
        }
    }
    let counters: BTreeMap<String, u64> = redis
        .query(redis::cmd("HGETALL").arg(redis.key(&format!("tc:n:{workspace}"))))
        .await?;
    for (field, n) in counters {
        let Some((kind, tool)) = field.split_once(':') else {
            continue;
        };
        let slot = figures.counters.entry(tool.to_string()).or_default();
        match kind {
            "h" => slot.0 += n,
            _ => slot.1 += n,
        }
    }
    Ok(figures)
}

/// Hits and misses across the cluster and its workspaces.
pub async fn totals(redis: &Redis) -> Result<(u64, u64), Unavailable> {
    let (hits, misses): (Option<u64>, Option<u64>) = redis
        .query(redis::cmd("HMGET").arg(redis.key("tc:n")).arg("h").arg("m"))
        .await?;
    Ok((hits.unwrap_or(0), misses.unwrap_or(0)))
}

/// Bytes held across the cluster.
pub async fn bytes(redis: &Redis) -> Result<usize, Unavailable> {
    let total: Option<i64> = redis
        .query(redis::cmd("GET").arg(redis.key("tc:bytes")))
        .await?;
    Ok(usize::try_from(total.unwrap_or(0)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::test_redis;

    const TTL: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn replicas_share_entries_counters_and_clearing() {
        let Some(a) = test_redis("tool-cache", false) else {
            return;
        };
        let b = a.as_replica("other-replica");
        let call = ("ws_a", "fetch_page", r#"{"url":"x"}"#);
        assert_eq!(get(&b, call.0, call.1, call.2).await.unwrap(), None);
        assert!(put(&a, call, "\"page\"", 100, TTL, 10_000).await.unwrap());
        assert_eq!(
            get(&b, call.0, call.1, call.2).await.unwrap().as_deref(),
            Some("\"page\"")
        );
        // Another workspace never sees it.
        assert_eq!(get(&b, "ws_b", call.1, call.2).await.unwrap(), None);
        let figures = workspace_figures(&a, "ws_a").await.unwrap();
        assert_eq!(figures.entries["fetch_page"], (1, 100));
        assert_eq!(figures.counters["fetch_page"], (1, 1));
        assert_eq!(totals(&a).await.unwrap(), (1, 2));
        // Replacing keeps one entry and its size.
        assert!(put(&b, call, "\"page 2\"", 120, TTL, 10_000).await.unwrap());
        assert_eq!(bytes(&a).await.unwrap(), 120);
        assert_eq!(clear(&b, "ws_b", None).await.unwrap(), 0);
        assert_eq!(clear(&b, "ws_a", Some("other_tool")).await.unwrap(), 0);
        assert_eq!(clear(&b, "ws_a", Some("fetch_page")).await.unwrap(), 1);
        assert_eq!(get(&a, call.0, call.1, call.2).await.unwrap(), None);
        assert_eq!(bytes(&a).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn the_cluster_total_stays_under_the_cap() {
        let Some(a) = test_redis("tool-cache-cap", false) else {
            return;
        };
        let b = a.as_replica("other-replica");
        for i in 0..50 {
            let replica = if i % 2 == 0 { &a } else { &b };
            let args = format!("{{\"url\":{i}}}");
            assert!(
                put(
                    replica,
                    ("ws", "fetch_page", &args),
                    "\"p\"",
                    1_000,
                    TTL,
                    10_000
                )
                .await
                .unwrap()
            );
            assert!(bytes(&a).await.unwrap() <= 10_000);
        }
        // The newest ten are kept, the oldest evicted.
        let figures = workspace_figures(&a, "ws").await.unwrap();
        assert_eq!(figures.entries["fetch_page"], (10, 10_000));
        assert!(
            get(&a, "ws", "fetch_page", "{\"url\":49}")
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            get(&a, "ws", "fetch_page", "{\"url\":0}")
                .await
                .unwrap()
                .is_none()
        );
        // A result larger than the whole budget is not kept.
        assert!(
            !put(&a, ("ws", "big", "{}"), "\"y\"", 20_000, TTL, 10_000)
                .await
                .unwrap()
        );
        // Expired entries leave the figures and make room.
        put(
            &a,
            ("ws", "short", "{}"),
            "\"s\"",
            10,
            Duration::from_millis(1),
            10_000,
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let figures = workspace_figures(&a, "ws").await.unwrap();
        assert!(!figures.entries.contains_key("short"), "{figures:?}");
        assert_eq!(clear(&a, "ws", Some("short")).await.unwrap(), 0);
    }
}
