//! Hybrid retrieval: the full-text ranking and the vector ranking of one user's memory in one
//! workspace, fused by weighted reciprocal rank fusion (`w / (k + rank)`, defaults k = 60,
//! 0.7 vector / 0.3 keyword). The fused scores are normalised so the best hit scores 1, then
//! the caller's threshold and limit apply. Each hit says which rankings it came from.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;

use super::{
    Owner,
    embed::{
        Embedder, Embedders, dot, from_bytes,
        usage::{self, Share},
    },
    search::{MemoryHit, SearchOptions, normalise},
};
use crate::store::{ChunkHit, ChunkSearch, Store, VectorScan};

/// Candidates taken from each ranking before fusion.
pub const CANDIDATES: usize = 50;

/// Which rankings a search uses (`?mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Full-text only.
    Keyword,
    /// Vectors only.
    Vector,
    /// Both, fused (the default).
    Hybrid,
}

impl Mode {
    /// `keyword`, `vector` or `hybrid`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "keyword" => Some(Self::Keyword),
            "vector" => Some(Self::Vector),
            "hybrid" => Some(Self::Hybrid),
            _ => None,
        }
    }
}

/// The RRF constant and weights.
#[derive(Debug, Clone, Copy)]
pub struct Fusion {
    /// `k` of `1 / (k + rank)`.
    pub k: f64,
    /// Weight of the vector ranking.
    pub vector_weight: f64,
    /// Weight of the keyword ranking.
    pub keyword_weight: f64,
}

impl Fusion {
    /// The configured fusion.
    pub fn of(embedders: &Embedders) -> Self {
        let c = embedders.config();
        Self {
            k: c.rrf_k,
            vector_weight: c.vector_weight,
            keyword_weight: c.keyword_weight,
        }
    }
}

/// The embedder chosen by a workspace's settings (the default when the workspace is unknown).
pub async fn embedder_of(
    store: &Store,
    embedders: &Embedders,
    workspace_id: &str,
) -> Result<Arc<dyn Embedder>, sqlx::Error> {
    let settings = store
        .workspaces()
        .workspace_cached(workspace_id)
        .await?
        .map(|w| w.settings.0)
        .unwrap_or_default();
    Ok(embedders.for_settings(&settings))
}

/// The chunks of the scope most similar to `query`, best first (at most [`CANDIDATES`], each
/// at least `memory.minCosine`), among the newest `max_scan` vectors. `rank` is the cosine. A
/// failing embedder is logged and yields no vector ranking (keyword search still answers).
/// What an HTTP embedder is billed for the query is recorded as the owner's usage.
pub async fn vector_ranking(
    store: &Store,
    embedders: &Embedders,
    embedder: &dyn Embedder,
    owner: Owner<'_>,
    query: &str,
    options: &SearchOptions<'_>,
    max_scan: usize,
) -> Result<Vec<ChunkHit>, sqlx::Error> {
    let min_cosine = embedders.config().min_cosine;
    let q = match embedder.embed_metered(&[query.to_string()]).await {
        Ok(mut e) if !e.vectors.is_empty() => {
            if let Some(billed) = &e.billed {
                let share = Share {
                    user_id: owner.user_id,
                    workspace_id: owner.workspace_id,
                    chars: query.chars().count(),
                };
                let rows = usage::rows(billed, embedders.pricing(), &[share], Utc::now());
                if let Err(err) = store.memory_vectors().store(&[], &rows, Utc::now()).await {
                    tracing::warn!(error = %err, "recording the query embedding's usage failed");
                }
            }
            e.vectors.swap_remove(0)
        }
        Ok(_) => return Ok(Vec::new()),
        Err(e) => {
            tracing::warn!(error = %e, embedder = embedder.id(), "query embedding failed; keyword ranking only");
            return Ok(Vec::new());
        }
    };
    if q.iter().all(|x| *x == 0.0) {
        return Ok(Vec::new());
    }
    let rows = store
        .memory_vectors()
        .scan(&VectorScan {
            user_id: owner.user_id,
            workspace_id: owner.workspace_id,
            embedder: embedder.id(),
            tiers: options.tiers,
            not_before: options.not_before,
            exclude_session: options.exclude_session,
            limit: i64::try_from(max_scan).unwrap_or(i64::MAX),
        })
        .await?;
    let mut buf = Vec::with_capacity(q.len());
    let mut hits: Vec<ChunkHit> = rows
        .into_iter()
        .filter_map(|r| {
            if usize::try_from(r.dim).ok() != Some(q.len()) {
                return None;
            }
            from_bytes(&r.vec, &mut buf);
            let cos = dot(&q, &buf);
            (cos >= min_cosine).then(|| ChunkHit {
                id: r.id,
                tier: r.tier,
                content: r.content,
                day: r.day,
                idx: r.idx,
                session_id: r.session_id,
                created_at: r.created_at,
                rank: f64::from(cos),
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then(b.created_at.cmp(&a.created_at))
    });
    hits.truncate(CANDIDATES);
    Ok(hits)
}

/// Fuses two rankings (each best first) by weighted RRF, best first, normalised so the best
/// scores 1; hits scoring below `min_score` are dropped, then the list is cut to `top_k`.
pub fn fuse(
    keyword: Vec<ChunkHit>,
    vector: Vec<ChunkHit>,
    fusion: Fusion,
    top_k: usize,
    min_score: f64,
) -> Vec<MemoryHit> {
    struct Acc {
        hit: ChunkHit,
        score: f64,
        keyword_rank: Option<usize>,
        vector_rank: Option<usize>,
    }
    let mut by_id: HashMap<i64, Acc> = HashMap::new();
    let lists = [
        (keyword, fusion.keyword_weight, true),
        (vector, fusion.vector_weight, false),
    ];
    for (list, weight, is_keyword) in lists {
        for (i, hit) in list.into_iter().enumerate() {
            let rank = i + 1;
            let add = weight / (fusion.k + rank as f64);
            let acc = by_id.entry(hit.id).or_insert_with(|| Acc {
                hit,
                score: 0.0,
                keyword_rank: None,
                vector_rank: None,
            });
            acc.score += add;
            if is_keyword {
                acc.keyword_rank = Some(rank);
            } else {
                acc.vector_rank = Some(rank);
            }
        }
    }
    let mut all: Vec<Acc> = by_id.into_values().collect();
    all.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.hit.created_at.cmp(&a.hit.created_at))
            .then(b.hit.id.cmp(&a.hit.id))
    });
    let best = all.first().map(|a| a.score).unwrap_or(0.0);
    all.into_iter()
        .map(|a| {
            let mut hit = a.hit;
            hit.rank = if best > 0.0 { a.score / best } else { 1.0 };
            let mut out = normalise(vec![hit], 0.0).remove(0);
            out.score = (a.score / best.max(f64::MIN_POSITIVE) * 10_000.0).round() / 10_000.0;
            out.keyword_rank = a.keyword_rank;
            out.vector_rank = a.vector_rank;
            out.matched_by = [("keyword", a.keyword_rank), ("vector", a.vector_rank)]
                .iter()
                .filter(|(_, r)| r.is_some())
                .map(|(n, _)| (*n).to_string())
                .collect();
            out
        })
        .filter(|h| h.score >= min_score)
        .take(top_k)
        .collect()
}

/// Searches one user's memory in one workspace with the given rankings, best first.
pub async fn search(
    store: &Store,
    embedders: &Embedders,
    owner: Owner<'_>,
    query: &str,
    options: &SearchOptions<'_>,
    mode: Mode,
) -> Result<Vec<MemoryHit>, sqlx::Error> {
    let keyword = if mode == Mode::Vector {
        Vec::new()
    } else {
        let terms = super::search::terms(query);
        store
            .memory()
            .search_memory_chunks(&ChunkSearch {
                user_id: owner.user_id,
                workspace_id: owner.workspace_id,
                terms: &terms,
                tiers: options.tiers,
                not_before: options.not_before,
                exclude_session: options.exclude_session,
                limit: CANDIDATES.max(options.top_k) as i64,
            })
            .await?
    };
    let vector = if mode == Mode::Keyword {
        Vec::new()
    } else {
        let embedder = embedder_of(store, embedders, owner.workspace_id).await?;
        let max_scan = embedders.config().max_scan;
        vector_ranking(
            store,
            embedders,
            embedder.as_ref(),
            owner,
            query,
            options,
            max_scan,
        )
        .await?
    };
    Ok(fuse(
        keyword,
        vector,
        Fusion::of(embedders),
        options.top_k,
        options.min_score,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: i64) -> ChunkHit {
        ChunkHit {
            id,
            tier: "note".into(),
            content: format!("c{id}"),
            day: None,
            idx: Some(id),
            session_id: None,
            created_at: Utc::now(),
            rank: 1.0,
        }
    }

    #[test]
    fn rrf_weights_rankings_and_says_where_hits_came_from() {
        let f = Fusion {
            k: 60.0,
            vector_weight: 0.7,
            keyword_weight: 0.3,
        };
        let out = fuse(vec![hit(1), hit(2)], vec![hit(3), hit(2)], f, 10, 0.0);
        let ids: Vec<i64> = out.iter().map(|h| h.index.unwrap_or(-1)).collect();
        // 2 is in both lists; 3 leads the heavier vector list; 1 leads the keyword list.
        assert_eq!(ids, [2, 3, 1]);
        assert_eq!(out[0].score, 1.0);
        assert_eq!(out[0].matched_by, ["keyword", "vector"]);
        assert_eq!(
            (out[0].keyword_rank, out[0].vector_rank),
            (Some(2), Some(2))
        );
        assert_eq!(out[1].matched_by, ["vector"]);
        assert_eq!(out[2].matched_by, ["keyword"]);
        assert!(out.windows(2).all(|w| w[0].score >= w[1].score));
        // Threshold after fusion, then the limit.
        assert_eq!(
            fuse(vec![hit(1), hit(2)], vec![hit(3), hit(2)], f, 1, 0.0).len(),
            1
        );
        assert!(fuse(vec![hit(1), hit(2)], vec![hit(3), hit(2)], f, 10, 0.99).len() == 1);
    }
}
