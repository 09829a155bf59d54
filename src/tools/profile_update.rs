//! `profile_update`: Update a fact in the user's profile.
//!
//! Registered with its real schema so agents and skills can name it, but not
//! offered (`available()` is false) until the memory subsystem is wired in.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, memory_disabled};

/// Update a fact in the user's profile. Unavailable until memory lands.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProfileUpdate;

#[async_trait]
impl Tool for ProfileUpdate {
    fn name(&self) -> &str {
        "profile_update"
    }

    fn description(&self) -> &str {
        "Set or clear a stable fact in the user's profile (name, timezone, preferences). Use when the user states such a fact; pass null to remove one."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "key": { "type": "string", "description": "Profile field, e.g. \"timezone\" or \"preferred_language\"." },
                "value": { "type": ["string", "null"], "description": "New value, or null to remove the field." }
            },
            "required": ["key", "value"],
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
