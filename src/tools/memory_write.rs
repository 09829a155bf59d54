//! `memory_write`: Save a note to the user's long-term memory.
//!
//! Registered with its real schema so agents and skills can name it, but not
//! offered (`available()` is false) until the memory subsystem is wired in.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, memory_disabled};

/// Save a note to the user's long-term memory. Unavailable until memory lands.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryWrite;

#[async_trait]
impl Tool for MemoryWrite {
    fn name(&self) -> &str {
        "memory_write"
    }

    fn description(&self) -> &str {
        "Save something worth remembering about the user or the conversation as a note for later sessions. Write one self-contained fact or summary per call."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "content": { "type": "string", "description": "The note, self-contained." },
                "tags": { "type": "array", "items": { "type": "string" }, "description": "Optional tags." },
                "importance": { "type": "number", "minimum": 0, "maximum": 1, "description": "How important the note is (default 0.5)." }
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
        false
    }

    async fn execute(&self, _ctx: &ToolContext, _args: Value) -> Result<Value, ToolError> {
        Err(memory_disabled())
    }
}
