//! Cache of results of tools flagged cacheable, keyed by workspace, tool and canonical
//! arguments.
//!
//! The workspace is part of the key: a page fetched in one workspace is never served to
//! another, and stats and clearing are per workspace. Memory is bounded by the total size
//! of the cached results ([`ToolCache::new`]'s `max_bytes`): past it the oldest entries go.
//!
//! With a cluster Redis ([`ToolCache::shared`]) the entries, their size cap and the counters
//! live there ([`crate::cluster::tool_cache`]): a result cached by one replica answers the
//! others, and stats and clearing act on the whole cluster. While Redis does not answer, each
//! replica caches in its own memory as without it (a cache is never worth failing a turn), and
//! stats and clearing add that memory's entries to the shared ones.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::cluster::{Redis, tool_cache as redis_cache};

/// Bookkeeping per entry beyond its key and value text (map slots, timestamps).
const ENTRY_OVERHEAD: usize = 64;

/// (workspace, tool, canonical arguments).
type Key = (String, String, String);

#[derive(Default, Clone, Copy)]
struct ToolCounters {
    hits: u64,
    misses: u64,
}

struct Entry {
    at: Instant,
    bytes: usize,
    /// Insertion number, to tell the live marker in `order` from stale ones.
    seq: u64,
    value: Value,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Keys in insertion order (with their `seq`), oldest first, for eviction.
    order: VecDeque<(u64, Key)>,
    bytes: usize,
    next_seq: u64,
    /// Hits and misses per workspace, then per tool.
    counters: HashMap<String, BTreeMap<String, ToolCounters>>,
    /// Totals across workspaces, for `/metrics`.
    totals: ToolCounters,
}

impl Inner {
    fn remove(&mut self, key: &Key) -> bool {
        match self.entries.remove(key) {
            Some(e) => {
                self.bytes -= e.bytes;
                true
            }
            None => false,
        }
    }

    /// Evicts oldest entries until `extra` more bytes fit in `max`.
    fn make_room(&mut self, extra: usize, max: usize) {
        while self.bytes + extra > max {
            let Some((seq, key)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.remove(&key);
            }
        }
        // Markers of entries removed by `get` or `clear` pile up otherwise.
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
    }

    fn count(&mut self, workspace: &str, tool: &str, hit: bool) {
        let c = self
            .counters
            .entry(workspace.to_string())
            .or_default()
            .entry(tool.to_string())
            .or_default();
        if hit {
            c.hits += 1;
            self.totals.hits += 1;
        } else {
            c.misses += 1;
            self.totals.misses += 1;
        }
    }
}

/// The tool result cache (results are cheap to recompute).
pub struct ToolCache {
    ttl: Duration,
    max_bytes: usize,
    inner: Mutex<Inner>,
    shared: Option<Arc<Redis>>,
}

impl ToolCache {
    /// A cache whose entries live for `ttl`, holding at most `max_bytes` of results.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            ttl,
            max_bytes,
            inner: Mutex::new(Inner::default()),
            shared: None,
        }
    }

    /// Keeps the entries in the cluster's Redis, when there is one (the cap then bounds the
    /// cluster's total).
    pub fn shared(mut self, redis: Option<Arc<Redis>>) -> Self {
        self.shared = redis;
        self
    }

    fn key(workspace: &str, tool: &str, args: &Value) -> Key {
        (workspace.to_string(), tool.to_string(), args.to_string())
    }

    /// A fresh cached result of `workspace`, counting a hit or a miss.
    pub async fn get(&self, workspace: &str, tool: &str, args: &Value) -> Option<Value> {
        if let Some(redis) = &self.shared {
            let args = args.to_string();
            if let Ok(hit) = redis_cache::get(redis, workspace, tool, &args).await {
                return hit.and_then(|text| serde_json::from_str(&text).ok());
            }
        }
        self.get_local(workspace, tool, args)
    }

    fn get_local(&self, workspace: &str, tool: &str, args: &Value) -> Option<Value> {
        let key = Self::key(workspace, tool, args);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = inner
            .entries
            .get(&key)
            .filter(|e| e.at.elapsed() < self.ttl)
            .map(|e| e.value.clone());
        inner.count(workspace, tool, fresh.is_some());
        if fresh.is_none() {
            inner.remove(&key);
        }
        fresh
    }

    /// Stores a result of `workspace`; one larger than the whole budget is not kept.
    pub async fn put(&self, workspace: &str, tool: &str, args: &Value, result: Value) {
        if let Some(redis) = &self.shared {
            let key = Self::key(workspace, tool, args);
            let text = result.to_string();
            let bytes = key.0.len() + key.1.len() + key.2.len() + text.len() + ENTRY_OVERHEAD;
            let stored = redis_cache::put(
                redis,
                (&key.0, &key.1, &key.2),
                &text,
                bytes,
                self.ttl,
                self.max_bytes,
            )
            .await;
            if stored.is_ok() {
                return;
            }
        }
        self.put_local(workspace, tool, args, result);
    }

    fn put_local(&self, workspace: &str, tool: &str, args: &Value, result: Value) {
        let key = Self::key(workspace, tool, args);
        let bytes = key.0.len() + key.1.len() + key.2.len() + result.to_string().len();
        let bytes = bytes + ENTRY_OVERHEAD;
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.remove(&key);
        if bytes > self.max_bytes {
            return;
        }
        inner.make_room(bytes, self.max_bytes);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.push_back((seq, key.clone()));
        inner.bytes += bytes;
        inner.entries.insert(
            key,
            Entry {
                at: Instant::now(),
                bytes,
                seq,
                value: result,
            },
        );
    }

    /// Drops `workspace`'s entries (of one tool, or all) — on every replica with a cluster
    /// Redis; returns how many.
    pub async fn clear(&self, workspace: &str, tool: Option<&str>) -> usize {
        let cleared = match &self.shared {
            Some(redis) => redis_cache::clear(redis, workspace, tool)
                .await
                .unwrap_or(0),
            None => 0,
        };
        cleared + self.clear_local(workspace, tool)
    }

    fn clear_local(&self, workspace: &str, tool: Option<&str>) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let doomed: Vec<Key> = inner
            .entries
            .keys()
            .filter(|(ws, name, _)| ws == workspace && tool.is_none_or(|t| t == name))
            .cloned()
            .collect();
        for key in &doomed {
            inner.remove(key);
        }
        doomed.len()
    }

    /// Totals across workspaces (hits, misses) — of the cluster with a cluster Redis.
    pub async fn totals(&self) -> (u64, u64) {
        let (hits, misses) = match &self.shared {
            Some(redis) => redis_cache::totals(redis).await.unwrap_or_default(),
            None => (0, 0),
        };
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (hits + inner.totals.hits, misses + inner.totals.misses)
    }

    /// Bytes held in this process (keys, results and bookkeeping); the cluster's own total
    /// is in Redis.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Entries, bytes and hit counters of one workspace, overall and per tool — of the
    /// cluster with a cluster Redis.
    pub async fn stats(&self, workspace: &str) -> CacheStats {
        let mut figures = self.figures_local(workspace);
        if let Some(redis) = &self.shared
            && let Ok(cluster) = redis_cache::workspace_figures(redis, workspace).await
        {
            for (tool, (n, bytes)) in cluster.entries {
                let slot = figures.entries.entry(tool).or_default();
                slot.0 += n;
                slot.1 += bytes;
            }
            for (tool, (hits, misses)) in cluster.counters {
                let slot = figures.counters.entry(tool).or_default();
                slot.0 += hits;
                slot.1 += misses;
            }
        }
        assemble(figures)
    }

    fn figures_local(&self, workspace: &str) -> redis_cache::WorkspaceFigures {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut figures = redis_cache::WorkspaceFigures::default();
        for ((ws, tool, _), e) in &inner.entries {
            if ws == workspace {
                let slot = figures.entries.entry(tool.clone()).or_default();
                slot.0 += 1;
                slot.1 += e.bytes;
            }
        }
        if let Some(counters) = inner.counters.get(workspace) {
            for (tool, c) in counters {
                figures.counters.insert(tool.clone(), (c.hits, c.misses));
            }
        }
        figures
    }
}

/// The stats of a workspace's entries and counters.
fn assemble(figures: redis_cache::WorkspaceFigures) -> CacheStats {
    let mut by_tool = BTreeMap::new();
    let (mut hits, mut misses) = (0u64, 0u64);
    for (tool, (h, m)) in &figures.counters {
        let entries = figures.entries.get(tool).map_or(0, |s| s.0);
        hits += h;
        misses += m;
        by_tool.insert(
            tool.clone(),
            ToolStats {
                entries,
                hits: *h,
                misses: *m,
                hit_rate: rate(*h, *m),
            },
        );
    }
    CacheStats {
        entries: figures.entries.values().map(|s| s.0).sum(),
        bytes: figures.entries.values().map(|s| s.1).sum(),
        hits,
        misses,
        hit_rate: rate(hits, misses),
        by_tool,
    }
}

/// Cache figures of one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheStats {
    /// Cached results.
    pub entries: usize,
    /// Bytes they hold.
    pub bytes: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// hits / (hits + misses), 0 before any lookup.
    pub hit_rate: f64,
    /// Per tool that was looked up.
    pub by_tool: BTreeMap<String, ToolStats>,
}

/// Cache figures of one tool in one workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolStats {
    /// Cached results.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// hits / (hits + misses).
    pub hit_rate: f64,
}

fn rate(hits: u64, misses: u64) -> f64 {
    let total = hits + misses;
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn total_bytes_stay_under_the_cap() {
        let cache = ToolCache::new(Duration::from_secs(300), 100_000);
        let page = "x".repeat(1_000);
        for i in 0..1_000 {
            cache
                .put("ws", "fetch_page", &json!({ "url": i }), json!(page))
                .await;
            assert!(cache.bytes() <= 100_000);
        }
        // The newest entries are kept, the oldest evicted.
        let args = json!({ "url": 999 });
        assert!(cache.get("ws", "fetch_page", &args).await.is_some());
        let args = json!({ "url": 0 });
        assert!(cache.get("ws", "fetch_page", &args).await.is_none());
        let entries = cache.stats("ws").await.entries;
        assert!((80..100).contains(&entries), "{entries}");
        // A result larger than the whole budget is not cached at all.
        let big = json!("y".repeat(200_000));
        cache.put("ws", "fetch_page", &json!({}), big).await;
        assert!(cache.get("ws", "fetch_page", &json!({})).await.is_none());
        assert!(cache.inner.lock().unwrap().order.len() <= 2 * entries + 64);
    }

    #[tokio::test]
    async fn workspaces_are_isolated() {
        let cache = ToolCache::new(
            Duration::from_secs(300),
            crate::config::DosConfig::default().tool_cache_max_bytes,
        );
        let args = json!({ "url": "https://example.com" });
        cache.put("a", "fetch_page", &args, json!("A's page")).await;
        assert!(cache.get("b", "fetch_page", &args).await.is_none());
        assert_eq!(cache.stats("b").await.entries, 0);
        assert_eq!(cache.stats("b").await.misses, 1);
        assert_eq!(cache.stats("a").await.misses, 0);
        assert_eq!(cache.clear("b", None).await, 0);
        let hit = cache.get("a", "fetch_page", &args).await;
        assert_eq!(hit, Some(json!("A's page")));
        assert_eq!(cache.clear("a", Some("fetch_page")).await, 1);
        assert_eq!(cache.totals().await, (1, 1));
    }

    #[tokio::test]
    async fn with_redis_every_replica_shares_entries_stats_and_clearing() {
        let Some(redis) = crate::cluster::test_redis("tool-cache-replicas", false) else {
            return;
        };
        let ttl = Duration::from_secs(300);
        let a = ToolCache::new(ttl, 1_000_000).shared(Some(redis.clone()));
        let b = ToolCache::new(ttl, 1_000_000).shared(Some(Arc::new(redis.as_replica("b"))));
        let args = json!({ "url": "https://example.com" });
        assert!(b.get("ws", "fetch_page", &args).await.is_none());
        a.put("ws", "fetch_page", &args, json!({ "page": "A" }))
            .await;
        let hit = b.get("ws", "fetch_page", &args).await;
        assert_eq!(hit, Some(json!({ "page": "A" })));
        // Neither replica holds it in memory: the stats are the cluster's.
        assert_eq!(a.bytes() + b.bytes(), 0);
        let stats = a.stats("ws").await;
        assert_eq!((stats.entries, stats.hits, stats.misses), (1, 1, 1));
        assert_eq!(stats.by_tool["fetch_page"].entries, 1);
        assert!(stats.bytes > 0);
        assert_eq!(b.totals().await, (1, 1));
        // Clearing on one replica clears it for all.
        assert_eq!(b.clear("ws", None).await, 1);
        assert!(a.get("ws", "fetch_page", &args).await.is_none());
        assert_eq!(a.stats("ws").await.entries, 0);
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_to_memory() {
        let config = crate::config::ClusterConfig {
            redis_url: Some(crate::config::Secret::new("redis://127.0.0.1:1")),
            timeout: Duration::from_millis(100),
            ..crate::config::ClusterConfig::default()
        };
        let redis = Redis::from_config(&config).unwrap().map(Arc::new);
        let cache = ToolCache::new(Duration::from_secs(300), 1_000_000).shared(redis);
        let args = json!({});
        cache.put("ws", "fetch_page", &args, json!("local")).await;
        assert_eq!(
            cache.get("ws", "fetch_page", &args).await,
            Some(json!("local"))
        );
        assert_eq!(cache.stats("ws").await.entries, 1);
        assert_eq!(cache.clear("ws", None).await, 1);
    }
}
