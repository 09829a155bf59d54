//! The three-tier memory of a user in a workspace — a long-term profile (facts and
//! preferences as one JSON object), daily entries (what happened, grouped by UTC day) and
//! strategic notes — plus full-text search over them and the user's session messages.
//!
//! Daily entries and notes are addressed by a stable index: the position of the entry in
//! creation order within its scope (a day for daily entries, the whole memory for notes),
//! starting at 0. Deleting an entry never renumbers the others, and an index is never handed
//! out twice.
//!
//! Search is hybrid: lexical (SQLite FTS5 `bm25()`, PostgreSQL `ts_rank_cd`) and semantic
//! (vectors of an [`embed::Embedder`], written off the request path by [`indexer`], ranked by
//! cosine in Rust), fused by reciprocal rank fusion ([`hybrid`]); scores are normalised per
//! query so the best hit scores 1.

pub mod browse;
pub mod context;
pub mod decay;
pub mod embed;
pub mod entries;
pub mod extract;
pub mod hybrid;
pub mod indexer;
pub mod profile;
pub mod search;

pub use context::{TurnMemory, context_block};
pub use extract::{FinishedTurn, remember_turn};
pub use search::{MemoryHit, SearchOptions};

/// Whose memory: a user within a workspace.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The workspace.
    pub workspace_id: &'a str,
}

/// Most characters of a daily entry or note.
pub const CONTENT_MAX_CHARS: usize = 4000;

/// `text` on one line (runs of whitespace become one space), cut to `max` characters with `…`.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max).collect();
    out.push('…');
    out
}
