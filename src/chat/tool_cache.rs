//! Cache of results of tools flagged cacheable, keyed by workspace, tool and canonical
//! arguments.
//!
//! The workspace is part of the key: a page fetched in one workspace is never served to
//! another, and stats and clearing are per workspace. Memory is bounded by the total size
//! of the cached results ([`ToolCache::new`]'s `max_bytes`): past it the oldest entries go.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;

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

/// The tool result cache (in process; results are cheap to recompute).
pub struct ToolCache {
    ttl: Duration,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

impl ToolCache {
    /// A cache whose entries live for `ttl`, holding at most `max_bytes` of results.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            ttl,
            max_bytes,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn key(workspace: &str, tool: &str, args: &Value) -> Key {
        (workspace.to_string(), tool.to_string(), args.to_string())
    }

    /// A fresh cached result of `workspace`, counting a hit or a miss.
    pub fn get(&self, workspace: &str, tool: &str, args: &Value) -> Option<Value> {
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
    pub fn put(&self, workspace: &str, tool: &str, args: &Value, result: Value) {
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

    /// Drops `workspace`'s entries (of one tool, or all); returns how many.
    pub fn clear(&self, workspace: &str, tool: Option<&str>) -> usize {
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

    /// Totals across workspaces (hits, misses).
    pub fn totals(&self) -> (u64, u64) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.totals.hits, inner.totals.misses)
    }

    /// Bytes held across workspaces (keys, results and bookkeeping).
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }

    /// Entries, bytes and hit counters of one workspace, overall and per tool.
    pub fn stats(&self, workspace: &str) -> CacheStats {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut entries_by_tool: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for ((ws, tool, _), e) in &inner.entries {
            if ws == workspace {
                let slot = entries_by_tool.entry(tool).or_default();
                slot.0 += 1;
                slot.1 += e.bytes;
            }
        }
        let empty = BTreeMap::new();
        let counters = inner.counters.get(workspace).unwrap_or(&empty);
        let mut by_tool = BTreeMap::new();
        let (mut hits, mut misses) = (0u64, 0u64);
        for (tool, c) in counters {
            let entries = entries_by_tool.get(tool.as_str()).map_or(0, |s| s.0);
            hits += c.hits;
            misses += c.misses;
            by_tool.insert(
                tool.clone(),
                ToolStats {
                    entries,
                    hits: c.hits,
                    misses: c.misses,
                    hit_rate: rate(c.hits, c.misses),
                },
            );
        }
        CacheStats {
            entries: entries_by_tool.values().map(|s| s.0).sum(),
            bytes: entries_by_tool.values().map(|s| s.1).sum(),
            hits,
            misses,
            hit_rate: rate(hits, misses),
            by_tool,
        }
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

    #[test]
    fn total_bytes_stay_under_the_cap() {
        let cache = ToolCache::new(Duration::from_secs(300), 100_000);
        let page = "x".repeat(1_000);
        for i in 0..1_000 {
            cache.put("ws", "fetch_page", &json!({ "url": i }), json!(page));
            assert!(cache.bytes() <= 100_000);
        }
        // The newest entries are kept, the oldest evicted.
        assert!(
            cache
                .get("ws", "fetch_page", &json!({ "url": 999 }))
                .is_some()
        );
        assert!(
            cache
                .get("ws", "fetch_page", &json!({ "url": 0 }))
                .is_none()
        );
        let entries = cache.stats("ws").entries;
        assert!((80..100).contains(&entries), "{entries}");
        // A result larger than the whole budget is not cached at all.
        cache.put("ws", "fetch_page", &json!({}), json!("y".repeat(200_000)));
        assert!(cache.get("ws", "fetch_page", &json!({})).is_none());
        assert!(cache.inner.lock().unwrap().order.len() <= 2 * entries + 64);
    }

    #[test]
    fn workspaces_are_isolated() {
        let cache = ToolCache::new(
            Duration::from_secs(300),
            crate::config::DosConfig::default().tool_cache_max_bytes,
        );
        let args = json!({ "url": "https://example.com" });
        cache.put("a", "fetch_page", &args, json!("A's page"));
        assert!(cache.get("b", "fetch_page", &args).is_none());
        assert_eq!(cache.stats("b").entries, 0);
        assert_eq!(cache.stats("b").misses, 1);
        assert_eq!(cache.stats("a").misses, 0);
        assert_eq!(cache.clear("b", None), 0);
        assert_eq!(cache.get("a", "fetch_page", &args), Some(json!("A's page")));
        assert_eq!(cache.clear("a", Some("fetch_page")), 1);
        assert_eq!(cache.totals(), (1, 1));
    }
}
