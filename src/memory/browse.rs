//! Reading and deleting a user's daily entries and notes, as the memory routes do.

use chrono::{Duration, Utc};

use super::{Owner, entries::parse_day};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{MemoryEntryRow, Store},
};

/// Longest window of the recent-days listing.
pub const MAX_RECENT_DAYS: i64 = 90;

/// The daily entries of one day, in index order.
#[derive(Debug)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Its entries.
    pub entries: Vec<MemoryEntryRow>,
}

/// The days with entries among today (UTC) and the `days - 1` before it, newest first.
pub async fn recent_days(store: &Store, owner: Owner<'_>, days: i64) -> ApiResult<Vec<Day>> {
    if !(1..=MAX_RECENT_DAYS).contains(&days) {
        return Err(ApiError::field("days", "must be 1-90"));
    }
    let first = (Utc::now() - Duration::days(days - 1))
        .format("%Y-%m-%d")
        .to_string();
    let rows = store
        .memory()
        .daily_entries_since(owner.user_id, owner.workspace_id, &first)
        .await?;
    Ok(group_by_day(rows))
}

/// Rows ordered by day then index, grouped into one `Day` per run of equal days.
fn group_by_day(rows: Vec<MemoryEntryRow>) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for row in rows {
        match days.last_mut() {
            Some(day) if day.date == row.day => day.entries.push(row),
            _ => days.push(Day {
                date: row.day.clone(),
                entries: vec![row],
            }),
        }
    }
    days
}

/// The entries of day `date` (`YYYY-MM-DD`); an empty list when it has none.
pub async fn day(store: &Store, owner: Owner<'_>, date: &str) -> ApiResult<Vec<MemoryEntryRow>> {
    parse_day(date)?;
    Ok(store
        .memory()
        .daily_entries_on(owner.user_id, owner.workspace_id, date)
        .await?)
}

/// Deletes entry `index` of day `date`; 404 when there is none.
pub async fn delete_daily(
    store: &Store,
    owner: Owner<'_>,
    date: &str,
    index: i64,
) -> ApiResult<()> {
    parse_day(date)?;
    let done = store
        .memory()
        .delete_memory_entry(owner.user_id, owner.workspace_id, Some(date), index)
        .await?;
    done.then_some(())
        .ok_or_else(|| ApiError::not_found("Daily entry"))
}

/// One page of the strategic notes, newest first, and how many there are.
pub async fn notes(
    store: &Store,
    owner: Owner<'_>,
    page: Page,
) -> ApiResult<(Vec<MemoryEntryRow>, i64)> {
    Ok(store
        .memory()
        .memory_notes(owner.user_id, owner.workspace_id, page.limit, page.offset)
        .await?)
}

/// Deletes note `index`; 404 when there is none.
pub async fn delete_note(store: &Store, owner: Owner<'_>, index: i64) -> ApiResult<()> {
    let done = store
        .memory()
        .delete_memory_entry(owner.user_id, owner.workspace_id, None, index)
        .await?;
    done.then_some(())
        .ok_or_else(|| ApiError::not_found("Note"))
}
