//! Full-text memory search across tiers with per-query normalised scores (the keyword side
//! of [`super::hybrid`]).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Owner;
use crate::store::{ChunkHit, ChunkSearch, Store};

/// Most distinct words taken from a query.
const MAX_TERMS: usize = 32;

/// Which tiers to search and how much to return.
#[derive(Debug, Clone)]
pub struct SearchOptions<'a> {
    /// `[profile, daily, note, session]`.
    pub tiers: [bool; 4],
    /// Daily entries and session messages older than this are left out (TTL).
    pub not_before: Option<DateTime<Utc>>,
    /// Messages of this session are left out.
    pub exclude_session: Option<&'a str>,
    /// Most hits.
    pub top_k: usize,
    /// Hits scoring below this (0–1) are dropped.
    pub min_score: f64,
}

impl SearchOptions<'_> {
    /// Every tier, no TTL, no exclusion, no threshold.
    pub fn all(top_k: usize) -> Self {
        Self {
            tiers: [true; 4],
            not_before: None,
            exclude_session: None,
            top_k,
            min_score: 0.0,
        }
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemoryHit {
    /// `profile`, `daily`, `note` or `session`.
    pub tier: String,
    /// The matching text (a profile hit reads `key: value`).
    pub content: String,
    /// Relevance normalised per query: the best hit scores 1.
    pub score: f64,
    /// Day of a daily entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Index of a daily entry (within its day) or a note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    /// Session of a session message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// When the source was written.
    pub created_at: DateTime<Utc>,
    /// The rankings the hit came from: `keyword`, `vector` (hybrid search; absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_by: Vec<String>,
    /// 1-based position in the full-text ranking, when in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyword_rank: Option<usize>,
    /// 1-based position in the vector ranking, when in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_rank: Option<usize>,
}

/// The distinct words of a query (letters and digits, lower-cased), which both engines can
/// match without any query syntax of their own getting in the way.
pub fn terms(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in query.split(|c: char| !c.is_alphanumeric()) {
        // Lower-casing may add marks that are not letters ('İ' → "i\u{307}"); they are
        // dropped so a term stays letters and digits (found by the property test below).
        let word: String = word
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        if !word.is_empty() && !out.contains(&word) {
            out.push(word);
            if out.len() == MAX_TERMS {
                break;
            }
        }
    }
    out
}

/// Scales engine ranks so the best scores 1 (ranks arrive best first).
pub(crate) fn normalise(hits: Vec<ChunkHit>, min_score: f64) -> Vec<MemoryHit> {
    let best = hits.first().map(|h| h.rank).unwrap_or(0.0);
    hits.into_iter()
        .map(|h| {
            let score = if best > 0.0 {
                (h.rank / best).clamp(0.0, 1.0)
            } else {
                1.0
            };
            MemoryHit {
                tier: h.tier,
                content: h.content,
                score: (score * 10_000.0).round() / 10_000.0,
                date: h.day,
                index: h.idx,
                session_id: h.session_id,
                created_at: h.created_at,
                matched_by: Vec::new(),
                keyword_rank: None,
                vector_rank: None,
            }
        })
        .filter(|h| h.score >= min_score)
        .collect()
}

/// Searches one user's memory in one workspace, best first.
pub async fn search(
    store: &Store,
    owner: Owner<'_>,
    query: &str,
    options: &SearchOptions<'_>,
) -> Result<Vec<MemoryHit>, sqlx::Error> {
    let terms = terms(query);
    let hits = store
        .memory()
        .search_memory_chunks(&ChunkSearch {
            user_id: owner.user_id,
            workspace_id: owner.workspace_id,
            terms: &terms,
            tiers: options.tiers,
            not_before: options.not_before,
            exclude_session: options.exclude_session,
            limit: options.top_k as i64,
        })
        .await?;
    Ok(normalise(hits, options.min_score))
}

/// Chunks a turn's context considers at most: the newest ones of the searched tiers.
pub const CONTEXT_CANDIDATES: i64 = 64;

/// Best matches for a turn's context among the newest daily entries and notes.
///
/// Full-text search costs grow with everything a user ever wrote (each turn adds a daily
/// entry and two messages), which made every turn slower than the last. The context looks
/// at a bounded window instead, scoring by idf-weighted word overlap; the full search over
/// every tier stays available through the search route and the `memory_search` tool.
pub async fn search_recent(
    store: &Store,
    owner: Owner<'_>,
    query: &str,
    options: &SearchOptions<'_>,
) -> Result<Vec<MemoryHit>, sqlx::Error> {
    let scored = search_recent_chunks(store, owner, query, options).await?;
    Ok(normalise(scored, options.min_score))
}

/// The ranking of [`search_recent`] before normalisation (best first, at most `top_k`).
pub async fn search_recent_chunks(
    store: &Store,
    owner: Owner<'_>,
    query: &str,
    options: &SearchOptions<'_>,
) -> Result<Vec<ChunkHit>, sqlx::Error> {
    let wanted = terms(query);
    let [_, daily, note, _] = options.tiers;
    if wanted.is_empty() || !(daily || note) {
        return Ok(Vec::new());
    }
    let rows = store
        .memory()
        .recent_memory_chunks(
            owner.user_id,
            owner.workspace_id,
            [daily, note],
            options.not_before,
            CONTEXT_CANDIDATES,
        )
        .await?;
    let words: Vec<std::collections::HashSet<String>> = rows
        .iter()
        .map(|r| {
            r.content
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        })
        .collect();
    let n = rows.len() as f64;
    let weights: Vec<f64> = wanted
        .iter()
        .map(|t| {
            let df = words.iter().filter(|w| w.contains(t)).count();
            if df == 0 {
                0.0
            } else {
                (1.0 + n / df as f64).ln()
            }
        })
        .collect();
    let mut scored: Vec<ChunkHit> = rows
        .into_iter()
        .zip(&words)
        .filter_map(|(mut row, w)| {
            row.rank = wanted
                .iter()
                .zip(&weights)
                .filter(|(t, _)| w.contains(*t))
                .map(|(_, weight)| weight)
                .sum();
            (row.rank > 0.0).then_some(row)
        })
        .collect();
    scored.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then(b.created_at.cmp(&a.created_at))
    });
    scored.truncate(options.top_k);
    Ok(scored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_plain_distinct_words() {
        assert_eq!(
            terms("Hello, \"world\" OR hello* (NEAR) café-42"),
            ["hello", "world", "or", "near", "café", "42"]
        );
        assert!(terms("?!*\"").is_empty());
    }
}

/// Property tests (issue #12): memory search reads the user's words; whatever they type, the
/// terms are plain words both engines match literally, none is invented and none is lost.
#[cfg(test)]
mod prop {
    use proptest::prelude::*;

    use super::{MAX_TERMS, terms};

    /// The distinct lower-cased words of `q`, in order of appearance.
    fn distinct_words(q: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in q
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let w: String = w
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            if !w.is_empty() && !out.contains(&w) {
                out.push(w);
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn terms_are_the_first_distinct_words(q in prop_oneof![
            ".{0,80}",
            "[a-zA-Z0-9ÉéßİΣ \"*():|&!'-]{0,200}",
        ]) {
            let got = terms(&q);
            prop_assert!(got.len() <= MAX_TERMS);
            for t in &got {
                // No engine syntax can hide in a term: letters and digits only.
                prop_assert!(!t.is_empty() && t.chars().all(char::is_alphanumeric), "{:?}", t);
            }
            let mut want = distinct_words(&q);
            want.truncate(MAX_TERMS);
            prop_assert_eq!(got, want);
        }
    }

    /// A huge query costs one pass and yields at most `MAX_TERMS` terms.
    #[test]
    fn long_queries_give_bounded_terms() {
        let q: String = (0..20_000).map(|i| format!("w{i} ")).collect();
        assert_eq!(terms(&q).len(), MAX_TERMS);
        assert_eq!(terms(&"same ".repeat(50_000)), ["same"]);
    }
}
