//! An agent's effective tool list: allow list ∪ skill tools, minus deny.

use std::collections::BTreeSet;

use serde::Serialize;

use super::SkillRegistry;
use crate::tools::ToolRegistry;

/// A tool an agent can call, as shown by `GET /agents/:id/capabilities` and
/// offered to the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveTool {
    /// Tool name.
    pub name: String,
    /// Tool description.
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
    /// The skill that brought the tool; `None` when the allow list named it.
    pub skill: Option<String>,
}

/// Computes the tools an agent may call.
///
/// Order is deterministic: the allow list in its order, then the tools of
/// `skill_ids` in skill order. A tool named both in `allow` and by a skill is
/// attributed to the allow list. `deny` always wins. Tool names that are not
/// registered, and tools that are registered but not offered (unconfigured web
/// search, memory before it is enabled), are left out, since a model must
/// never be offered a tool that cannot run.
pub fn effective_tools(
    allow: &[String],
    deny: &[String],
    skill_ids: &[String],
    skills: &SkillRegistry,
    tools: &ToolRegistry,
) -> Vec<EffectiveTool> {
    let denied: BTreeSet<&str> = deny.iter().map(String::as_str).collect();
    let candidates = allow
        .iter()
        .map(|name| (name.clone(), None))
        .chain(skills.expand(skill_ids));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (name, skill) in candidates {
        if denied.contains(name.as_str()) || !tools.offered(&name) || !seen.insert(name.clone()) {
            continue;
        }
        if let Some(tool) = tools.get(&name) {
            out.push(EffectiveTool {
                description: tool.description().to_string(),
                parameters: tool.parameters(),
                name,
                skill,
            });
        }
    }
    out
}
