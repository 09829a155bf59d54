//! Request and response bodies of the memory routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::{
    memory::{MemoryHit, browse::Day, profile},
    store::MemoryEntryRow,
};

/// The long-term profile.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileOut {
    /// Facts and preferences (an empty object when none were saved).
    #[schema(value_type = Object)]
    pub profile: Map<String, Value>,
    /// Last change; `null` when never written.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<profile::Profile> for ProfileOut {
    fn from(p: profile::Profile) -> Self {
        Self {
            profile: p.facts,
            updated_at: p.updated_at,
        }
    }
}

/// `PUT /agent/memory/profile` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileIn {
    /// The whole new profile: a JSON object of at most 64 KB.
    pub profile: Value,
    // Read-only response field, accepted and ignored so a fetched profile can be sent back.
    #[schema(ignore)]
    #[serde(default, rename = "updatedAt")]
    #[allow(dead_code)]
    updated_at: Option<IgnoredAny>,
}

/// A daily entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyEntryOut {
    /// Stable index within its day (creation order from 0; never reused).
    pub index: i64,
    /// Text.
    pub content: String,
    /// `chat` (summarised from a turn), `tool` or `api`.
    pub source: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

impl From<MemoryEntryRow> for DailyEntryOut {
    fn from(r: MemoryEntryRow) -> Self {
        Self {
            index: r.idx,
            content: r.content,
            source: r.source,
            created_at: r.created_at,
        }
    }
}

/// The daily entries of one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayOut {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// In index order.
    pub entries: Vec<DailyEntryOut>,
}

impl From<Day> for DayOut {
    fn from(d: Day) -> Self {
        Self {
            date: d.date,
            entries: d.entries.into_iter().map(Into::into).collect(),
        }
    }
}

/// Recent days with entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentDaysOut {
    /// The window asked for.
    pub days: i64,
    /// Days that have entries, newest first.
    pub items: Vec<DayOut>,
}

/// A strategic note.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoteOut {
    /// Stable index (creation order from 0; never reused).
    pub index: i64,
    /// Text.
    pub content: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `api` or `tool`.
    pub source: String,
    /// Written at.
    pub created_at: DateTime<Utc>,
}

impl From<MemoryEntryRow> for NoteOut {
    fn from(r: MemoryEntryRow) -> Self {
        Self {
            index: r.idx,
            content: r.content,
            tags: r.tags.0,
            source: r.source,
            created_at: r.created_at,
        }
    }
}

/// `POST /agent/memory/notes` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// 1–4000 characters.
    pub content: String,
    /// Up to 20 tags of 1–50 characters.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `?days=` of the daily listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DaysParams {
    /// 1–90 (default 7): today (UTC) and the days before it.
    pub days: Option<i64>,
}

/// `?q=&topK=` of the search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// 1–500 characters.
    pub q: Option<String>,
    /// 1–50 (default 5).
    #[serde(rename = "topK")]
    #[param(rename = "topK")]
    pub top_k: Option<i64>,
    /// `keyword`, `vector` or `hybrid` (default): which rankings are used.
    pub mode: Option<String>,
}

/// Search results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchOut {
    /// Hits from every tier, scores normalised so the best is 1.
    pub items: Vec<MemoryHit>,
}
