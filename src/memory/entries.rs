//! Daily entries and strategic notes: validation and creation.

use chrono::{DateTime, NaiveDate, Utc};

use super::{CONTENT_MAX_CHARS, Owner};
use crate::{
    error::{ApiError, ApiResult},
    store::{MemoryEntryRow, NewMemoryEntry, Store},
    validate::{Problems, length_between},
};

/// Most tags on a note.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 50;

/// Where a daily entry or note came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Summarised from a chat turn.
    Chat,
    /// Written through the HTTP API.
    Api,
    /// Written by a model through a memory tool.
    Tool,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Chat => "chat",
            Source::Api => "api",
            Source::Tool => "tool",
        }
    }
}

/// Parses a `YYYY-MM-DD` day, strictly (zero-padded, a real date).
pub fn parse_day(raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == raw)
        .ok_or_else(|| ApiError::field("date", "must be a date as YYYY-MM-DD"))
}

/// Checks content (1–4000 characters, not blank) and tags; returns the trimmed tags.
pub fn validate(content: &str, tags: &[String]) -> ApiResult<Vec<String>> {
    let mut p = Problems::new();
    p.check(
        content.trim().is_empty() || !length_between(content, 1, CONTENT_MAX_CHARS),
        "content",
        format!("must be 1-{CONTENT_MAX_CHARS} characters and not blank"),
    );
    p.check(
        tags.len() > MAX_TAGS,
        "tags",
        format!("at most {MAX_TAGS} tags"),
    );
    let tags: Vec<String> = tags.iter().map(|t| t.trim().to_string()).collect();
    p.check(
        tags.iter().any(|t| !length_between(t, 1, TAG_MAX_CHARS)),
        "tags",
        format!("each tag must be 1-{TAG_MAX_CHARS} characters"),
    );
    p.finish()?;
    Ok(tags)
}

/// Adds a strategic note.
pub async fn add_note(
    store: &Store,
    owner: Owner<'_>,
    content: &str,
    tags: &[String],
    source: Source,
) -> ApiResult<MemoryEntryRow> {
    let tags = validate(content, tags)?;
    Ok(store
        .memory()
        .add_memory_entry(&NewMemoryEntry {
            user_id: owner.user_id,
            workspace_id: owner.workspace_id,
            tier: "note",
            content,
            source: source.as_str(),
            tags: &tags,
            created_at: Utc::now(),
        })
        .await?)
}

/// Adds a daily entry to the day of `at` (UTC).
pub async fn add_daily(
    store: &Store,
    owner: Owner<'_>,
    content: &str,
    source: Source,
    at: DateTime<Utc>,
) -> ApiResult<MemoryEntryRow> {
    validate(content, &[])?;
    Ok(store
        .memory()
        .add_memory_entry(&NewMemoryEntry {
            user_id: owner.user_id,
            workspace_id: owner.workspace_id,
            tier: "daily",
            content,
            source: source.as_str(),
            tags: &[],
            created_at: at,
        })
        .await?)
}
