//! Typed views of the response bodies tests assert on again and again. Decoding fails the
//! test when a field is missing or has the wrong type, so a typed assertion checks more than
//! the `body["…"]` it replaces. Every field is decoded (and so type-checked) even where a
//! test reads only some, hence `allow(dead_code)`.

#![allow(dead_code)]

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::app::Resp;

/// The error envelope `{code, message, requestId, details?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    #[serde(default)]
    pub details: Value,
}

/// A page `{items, total, limit, offset}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// Token usage of a turn.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// The reply of `/agent/chat` (and the `done` event of the stream).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatReply {
    pub content: String,
    pub session_id: String,
    pub tools_used: Vec<String>,
    pub usage: Usage,
}

/// An agent as the agents routes return it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    pub id: String,
    pub display_name: String,
    pub workspace_id: Option<String>,
    pub version: i64,
    pub global: bool,
    pub model: Value,
    #[serde(default)]
    pub skills: Vec<String>,
    pub memory_profile_id: Option<String>,
}

/// A session as listed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: String,
    pub agent_id: String,
    pub workspace_id: String,
    pub surface: String,
    pub surface_id: String,
    pub status: String,
    pub message_count: i64,
    pub archived_at: Option<String>,
    pub summary: Option<String>,
}

/// Anything with an id (the `201` of most create routes).
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: String,
}

impl Resp {
    /// The body decoded as `T`; fails the test with the body when it does not fit.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_str(&self.text) {
            Ok(v) => v,
            Err(e) => panic!("body does not decode ({e}): {}", self.text),
        }
    }

    /// The body as a page of `T`.
    #[track_caller]
    pub fn page<T: DeserializeOwned>(&self) -> Page<T> {
        self.json()
    }

    /// The body as an error envelope.
    #[track_caller]
    pub fn error(&self) -> ErrorBody {
        self.json()
    }

    /// The `id` of a created resource.
    #[track_caller]
    pub fn id(&self) -> String {
        self.json::<Created>().id
    }
}

impl<T> Page<T> {
    /// The items mapped by `f` (ids, names…), for one-line comparisons.
    pub fn map<U>(&self, f: impl Fn(&T) -> U) -> Vec<U> {
        self.items.iter().map(f).collect()
    }
}
