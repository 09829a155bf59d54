//! The memory block of a turn's system prompt: the user's profile and the memories most
//! relevant to the message, within the agent's memory profile.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{
    Owner,
    embed::Embedders,
    hybrid::{self, Fusion},
    profile,
    search::{self, SearchOptions},
    shorten,
};
use crate::store::{MemoryProfileRow, Store};

/// Longest profile value or memory shown, in characters (the rest is cut with `…`).
const ITEM_MAX_CHARS: usize = 300;
/// Longest profile section, in characters.
const PROFILE_MAX_CHARS: usize = 4000;
/// Memories shown without a memory profile (a profile's own `maxContextChunks` default).
const DEFAULT_MAX_CHUNKS: i64 = 20;

/// What the turn needs to assemble its memory block.
#[derive(Debug, Clone, Copy)]
pub struct TurnMemory<'a> {
    /// Whose memory.
    pub owner: Owner<'a>,
    /// The current session, whose messages are in the context already.
    pub session_id: Option<&'a str>,
    /// The user message the memories should be relevant to.
    pub message: &'a str,
    /// The agent's memory profile; `None` uses every tier with the default limits.
    pub profile: Option<&'a MemoryProfileRow>,
    /// The moment of the turn (for the TTL).
    pub now: DateTime<Utc>,
    /// Embedders for the vector side of the search; `None` searches by keyword only.
    pub embedders: Option<&'a Embedders>,
}

/// Longest wait for the query's embedding in a turn (an HTTP embedder); after it the turn
/// goes on with the keyword ranking alone.
const QUERY_EMBED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The memory block (empty when there is nothing to say). Memory is an aid, not a
/// requirement: a failing lookup is logged and the turn goes on without it.
pub async fn context_block(store: &Store, turn: TurnMemory<'_>) -> String {
    match build(store, turn).await {
        Ok(block) => block,
        Err(e) => {
            tracing::warn!(error = %e, "memory context unavailable for this turn");
            String::new()
        }
    }
}

async fn build(store: &Store, turn: TurnMemory<'_>) -> Result<String, crate::error::ApiError> {
    let (tiers, ttl_days, max_chunks, min_score) = match turn.profile {
        Some(p) => (
            [p.tier_profile, p.tier_daily, p.tier_notes, p.tier_session],
            p.ttl_days,
            p.max_context_chunks,
            p.min_relevance_score,
        ),
        None => ([true; 4], None, DEFAULT_MAX_CHUNKS, 0.0),
    };
    let mut block = String::new();
    if tiers[0] {
        let facts = profile::load(store, turn.owner).await?.facts;
        let mut section = String::new();
        for (key, value) in &facts {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let line = format!("- {key}: {}\n", shorten(&value, ITEM_MAX_CHARS));
            if section.chars().count() + line.chars().count() > PROFILE_MAX_CHARS {
                break;
            }
            section.push_str(&line);
        }
        if !section.is_empty() {
            block.push_str("What you know about the user:\n");
            block.push_str(&section);
        }
    }
    // The profile is shown whole above; the bounded search covers daily entries and notes
    // (the current session is in the history; older sessions via the search tool).
    let search_tiers = [false, tiers[1], tiers[2], false];
    if search_tiers.iter().any(|t| *t) && max_chunks > 0 {
        let options = SearchOptions {
            tiers: search_tiers,
            not_before: ttl_days.map(|d| turn.now - Duration::days(d)),
            exclude_session: turn.session_id,
            top_k: max_chunks as usize,
            min_score,
        };
        let hits = relevant(store, &turn, &options).await?;
        if !hits.is_empty() {
            block.push_str("Relevant memories:\n");
            for hit in hits {
                let label = match (hit.tier.as_str(), &hit.date) {
                    ("daily", Some(day)) => day.clone(),
                    ("note", _) => "note".to_string(),
                    _ => "earlier conversation".to_string(),
                };
                let _ = writeln!(
                    block,
                    "- ({label}) {}",
                    shorten(&hit.content, ITEM_MAX_CHARS)
                );
            }
        }
    }
    if block.is_empty() {
        return Ok(block);
    }
    Ok(format!("## Memory\n{}", block.trim_end()))
}

/// The keyword ranking over the newest chunks fused with the vector ranking over the newest
/// `turnMaxScan` vectors of the same tiers.
async fn relevant(
    store: &Store,
    turn: &TurnMemory<'_>,
    options: &SearchOptions<'_>,
) -> Result<Vec<search::MemoryHit>, sqlx::Error> {
    let wide = SearchOptions {
        top_k: hybrid::CANDIDATES,
        min_score: 0.0,
        ..options.clone()
    };
    let keyword = search::search_recent_chunks(store, turn.owner, turn.message, &wide).await?;
    let Some(embedders) = turn.embedders else {
        return Ok(hybrid::fuse(
            keyword,
            Vec::new(),
            Fusion {
                k: 60.0,
                vector_weight: 0.0,
                keyword_weight: 1.0,
            },
            options.top_k,
            options.min_score,
        ));
    };
    let embedder = hybrid::embedder_of(store, embedders, turn.owner.workspace_id).await?;
    let scan = embedders.config().turn_max_scan;
    let vector = tokio::time::timeout(
        QUERY_EMBED_TIMEOUT,
        hybrid::vector_ranking(
            store,
            embedders,
            embedder.as_ref(),
            turn.owner,
            turn.message,
            &wide,
            scan,
        ),
    )
    .await
    .unwrap_or_else(|_| {
        tracing::warn!("memory query embedding timed out; keyword ranking only");
        Ok(Vec::new())
    })?;
    Ok(hybrid::fuse(
        keyword,
        vector,
        Fusion::of(embedders),
        options.top_k,
        options.min_score,
    ))
}
