//! `memory_search`: hybrid search (full-text + vectors, fused by RRF — the ranking of
//! `GET /agent/memory/search`) of the calling user's memory in the current workspace.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, memory_disabled, memory_owner, parse_args};
use crate::{
    memory::{
        SearchOptions,
        embed::Embedders,
        hybrid::{self, Mode},
    },
    store::Store,
};

/// Most results one call may ask for.
const MAX_TOP_K: usize = 20;

/// Searches the user's memory. Declared without a store (discoverable, not offered) until
/// the application binds it to one.
#[derive(Debug, Clone, Default)]
pub struct MemorySearch {
    bound: Option<(Store, Embedders)>,
}

impl MemorySearch {
    /// The tool, searching `store` with `embedders` for the vector ranking.
    pub fn new(store: Store, embedders: Embedders) -> Self {
        Self {
            bound: Some((store, embedders)),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Args {
    query: String,
    top_k: Option<usize>,
}

#[async_trait]
impl Tool for MemorySearch {
    fn name(&self) -> &str {
        "memory_search"
    }

    fn description(&self) -> &str {
        "Search what you remember about the user and past conversations (profile facts, notes, daily summaries, earlier messages). Use before answering questions that depend on earlier context."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "description": "Words to look for." },
                "topK": { "type": "integer", "minimum": 1, "maximum": MAX_TOP_K, "description": "Maximum results (default 5)." }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }

    fn cacheable(&self) -> bool {
        false
    }

    fn estimated_cost(&self) -> f64 {
        0.0
    }

    fn available(&self) -> bool {
        self.bound.is_some()
    }

    async fn execute(&self, ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let (store, embedders) = self.bound.as_ref().ok_or_else(memory_disabled)?;
        let args: Args = parse_args(args)?;
        let query = args.query.trim();
        if query.is_empty() || query.chars().count() > 500 {
            return Err(ToolError::InvalidArguments(
                "query must be 1-500 characters".into(),
            ));
        }
        let top_k = args.top_k.unwrap_or(5);
        if !(1..=MAX_TOP_K).contains(&top_k) {
            return Err(ToolError::InvalidArguments(format!(
                "topK must be 1-{MAX_TOP_K}"
            )));
        }
        // Messages of the current session are in the model's context already.
        let options = SearchOptions {
            exclude_session: ctx.session_id.as_deref(),
            ..SearchOptions::all(top_k)
        };
        let owner = memory_owner(ctx);
        let items = hybrid::search(store, embedders, owner, query, &options, Mode::Hybrid)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "memory_search failed");
                ToolError::Failed("memory is unavailable right now".into())
            })?;
        Ok(json!({ "items": items }))
    }
}
