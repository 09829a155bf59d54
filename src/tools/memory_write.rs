//! `memory_write`: saves a daily entry or a strategic note to the calling user's memory.

use async_trait::async_trait;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Tool, ToolContext, ToolError, memory_disabled, memory_failure, memory_owner, parse_args,
};
use crate::{
    memory::entries::{Source, add_daily, add_note},
    store::Store,
};

/// Writes to the user's memory. Declared without a store (discoverable, not offered) until
/// the application binds it to one.
#[derive(Debug, Clone, Default)]
pub struct MemoryWrite {
    store: Option<Store>,
}

impl MemoryWrite {
    /// The tool, working on `store`.
    pub fn new(store: Store) -> Self {
        Self { store: Some(store) }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Tier {
    Daily,
    Note,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    content: String,
    tier: Option<Tier>,
    #[serde(default)]
    tags: Vec<String>,
}

#[async_trait]
impl Tool for MemoryWrite {
    fn name(&self) -> &str {
        "memory_write"
    }

    fn description(&self) -> &str {
        "Save something worth remembering for later sessions: a lasting insight or decision as a note (tier \"note\", the default), or what happened today as a daily entry (tier \"daily\"). One self-contained statement per call."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "content": { "type": "string", "description": "The memory, self-contained (1-4000 characters)." },
                "tier": { "type": "string", "enum": ["daily", "note"], "description": "Where to save it (default note)." },
                "tags": { "type": "array", "items": { "type": "string" }, "description": "Optional tags for a note." }
            },
            "required": ["content"],
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
        self.store.is_some()
    }

    async fn execute(&self, ctx: &ToolContext, args: Value) -> Result<Value, ToolError> {
        let store = self.store.as_ref().ok_or_else(memory_disabled)?;
        let args: Args = parse_args(args)?;
        let owner = memory_owner(ctx);
        let row = match args.tier.unwrap_or(Tier::Note) {
            Tier::Note => add_note(store, owner, &args.content, &args.tags, Source::Tool).await,
            Tier::Daily => add_daily(store, owner, &args.content, Source::Tool, Utc::now()).await,
        }
        .map_err(memory_failure)?;
        let mut out = json!({ "saved": true, "tier": row.tier, "index": row.idx });
        if row.tier == "daily" {
            out["date"] = json!(row.day);
        }
        Ok(out)
    }
}
