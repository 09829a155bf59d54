//! `profile_update`: sets and removes facts in the calling user's long-term profile.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Tool, ToolContext, ToolError, memory_disabled, memory_failure, memory_owner, parse_args,
};
use crate::{memory::profile, store::Store};

/// Edits the user's profile. Declared without a store (discoverable, not offered) until the
/// application binds it to one.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    store: Option<Store>,
}

impl ProfileUpdate {
    /// The tool, working on `store`.
    pub fn new(store: Store) -> Self {
        Self { store: Some(store) }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    remove: Vec<String>,
}

#[async_trait]
impl Tool for ProfileUpdate {
    fn name(&self) -> &str {
        "profile_update"
    }

    fn description(&self) -> &str {
        "Record or clear stable facts in the user's profile (name, timezone, preferences). Use when the user states such a fact; `set` adds or replaces keys, `remove` deletes them."
    }

    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "set": { "type": "object", "description": "Facts to add or replace, e.g. {\"timezone\": \"Europe/Paris\"}.", "additionalProperties": true },
                "remove": { "type": "array", "items": { "type": "string" }, "description": "Keys to delete." }
            },
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
        if args.set.is_empty() && args.remove.is_empty() {
            return Err(ToolError::InvalidArguments(
                "give `set` and/or `remove`".into(),
            ));
        }
        let updated = profile::update(store, memory_owner(ctx), args.set, args.remove)
            .await
            .map_err(memory_failure)?;
        Ok(json!({ "profile": updated.facts }))
    }
}
