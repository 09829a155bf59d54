//! Cache of results of tools flagged cacheable, keyed by tool and canonical arguments.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
struct ToolCounters {
    hits: u64,
    misses: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(String, String), (Instant, Value)>,
    counters: BTreeMap<String, ToolCounters>,
}

/// The tool result cache (in process; results are cheap to recompute).
pub struct ToolCache {
    ttl: Duration,
    inner: Mutex<Inner>,
}

impl ToolCache {
    /// A cache whose entries live for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// A fresh cached result, counting a hit or a miss.
    pub fn get(&self, tool: &str, args: &Value) -> Option<Value> {
        let key = (tool.to_string(), args.to_string());
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = inner
            .entries
            .get(&key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone());
        let counters = inner.counters.entry(tool.to_string()).or_default();
        match fresh {
            Some(v) => {
                counters.hits += 1;
                Some(v)
            }
            None => {
                counters.misses += 1;
                inner.entries.remove(&key);
                None
            }
        }
    }

    /// Stores a result.
    pub fn put(&self, tool: &str, args: &Value, result: Value) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            inner.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(
            (tool.to_string(), args.to_string()),
            (Instant::now(), result),
        );
    }

    /// Drops entries (of one tool, or all); returns how many.
    pub fn clear(&self, tool: Option<&str>) -> usize {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let before = inner.entries.len();
        match tool {
            Some(t) => inner.entries.retain(|(name, _), _| name != t),
            None => inner.entries.clear(),
        }
        before - inner.entries.len()
    }

    /// Totals (hits, misses).
    pub fn totals(&self) -> (u64, u64) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .counters
            .values()
            .fold((0, 0), |(h, m), c| (h + c.hits, m + c.misses))
    }

    /// `{entries, hits, misses, hitRate, byTool}`.
    pub fn stats(&self) -> Value {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut by_tool = serde_json::Map::new();
        let (mut hits, mut misses) = (0u64, 0u64);
        for (tool, c) in &inner.counters {
            let entries = inner.entries.keys().filter(|(t, _)| t == tool).count();
            hits += c.hits;
            misses += c.misses;
            by_tool.insert(
                tool.clone(),
                json!({ "entries": entries, "hits": c.hits, "misses": c.misses, "hitRate": rate(c.hits, c.misses) }),
            );
        }
        json!({
            "entries": inner.entries.len(),
            "hits": hits,
            "misses": misses,
            "hitRate": rate(hits, misses),
            "byTool": by_tool,
        })
    }
}

fn rate(hits: u64, misses: u64) -> f64 {
    let total = hits + misses;
    if total == 0 {
        0.0
    } else {
        hits as f64 / total as f64
    }
}
