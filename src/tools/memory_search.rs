//! `memory_search`: Search the user's long-term memory.
//!
//! Registered with its real schema so agents and skills can name it, but not
//! offered (`available()` is false) until the memory subsystem is wired in.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, memory_disabled};

/// Search the user's long-term memory. Unavailable until memory lands.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemorySearch;

#[async_trait]
impl Tool for MemorySearch {
    fn name(&self) -> &str {
        "memory_search"
    }

    fn description(&self) -> &str {
        "Search what you remember about the user and past conversations (profile facts, notes, daily summaries). Use before answering questions that depend on earlier context."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": { "type": "string", "description": "What to look for." },
                "limit": { "type": "integer", "minimum": 1, "maximum": 20, "description": "Maximum results (default 5)." },
                "tiers": {
                    "type": "array",
                    "items": { "type": "string", "enum": ["session", "daily", "profile", "notes"] },
                    "description": "Memory tiers to search (default all)."
                }
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
        false
    }

    async fn execute(&self, _ctx: &ToolContext, _args: Value) -> Result<Value, ToolError> {
        Err(memory_disabled())
    }
}
