//! The skills known to the gateway: built-in ones plus those from `astra.yml`.

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;

use super::builtin::builtin_skills;
use super::{Skill, SkillError, valid_id};
use crate::tools::ToolRegistry;

/// All skills, built-in first, then configured ones in file order.
#[derive(Debug, Clone)]
pub struct SkillRegistry {
    skills: Vec<Skill>,
    by_id: HashMap<String, usize>,
}

/// A `skills:` entry of `astra.yml`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SkillDef {
    id: String,
    display_name: Option<String>,
    category: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    instructions: String,
}

impl SkillRegistry {
    /// Built-in skills plus `configured` (the `skills:` list of `astra.yml`),
    /// checked against `tools`: ids must be well-formed and unique, and every
    /// tool must be registered (offered or not).
    pub fn new(configured: &[serde_json::Value], tools: &ToolRegistry) -> Result<Self, SkillError> {
        let mut all = builtin_skills();
        for (index, value) in configured.iter().enumerate() {
            let def: SkillDef =
                serde_json::from_value(value.clone()).map_err(|e| SkillError::Invalid {
                    index,
                    message: e.to_string(),
                })?;
            all.push(Skill {
                display_name: def.display_name.unwrap_or_else(|| def.id.clone()),
                category: def.category.unwrap_or_else(|| "custom".into()),
                id: def.id,
                description: def.description,
                tools: def.tools,
                instructions: def.instructions,
                builtin: false,
            });
        }
        let mut by_id = HashMap::new();
        for (position, skill) in all.iter().enumerate() {
            validate(skill, tools)?;
            if by_id.insert(skill.id.clone(), position).is_some() {
                return Err(SkillError::Duplicate {
                    id: skill.id.clone(),
                });
            }
        }
        Ok(Self { skills: all, by_id })
    }

    /// Every skill, built-in first.
    pub fn list(&self) -> &[Skill] {
        &self.skills
    }

    /// The skill with that id.
    pub fn get(&self, id: &str) -> Option<&Skill> {
        self.by_id.get(id).and_then(|&i| self.skills.get(i))
    }

    /// The ids in `skill_ids` that name no skill, for validating agent configs
    /// at save time.
    pub fn unknown<'a>(&self, skill_ids: &'a [String]) -> Vec<&'a str> {
        skill_ids
            .iter()
            .filter(|id| !self.by_id.contains_key(id.as_str()) && !is_mcp_skill(id))
            .map(String::as_str)
            .collect()
    }

    /// The tools the given skills bring, each with the skill that brought it,
    /// in skill then tool order; a tool brought twice keeps its first skill.
    /// Unknown skill ids are skipped (agents are validated when saved; a skill
    /// removed from `astra.yml` since must not break a running agent).
    pub fn expand(&self, skill_ids: &[String]) -> Vec<(String, Option<String>)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for id in skill_ids.iter().filter(|id| !is_mcp_skill(id)) {
            let Some(skill) = self.get(id) else {
                tracing::warn!(skill = %id, "agent refers to an unknown skill; ignored");
                continue;
            };
            for tool in &skill.tools {
                if seen.insert(tool.as_str()) {
                    out.push((tool.clone(), Some(skill.id.clone())));
                }
            }
        }
        out
    }
}

fn validate(skill: &Skill, tools: &ToolRegistry) -> Result<(), SkillError> {
    if !valid_id(&skill.id) {
        return Err(SkillError::InvalidId {
            id: skill.id.clone(),
        });
    }
    let mut seen = BTreeSet::new();
    for tool in &skill.tools {
        if !tools.contains(tool) {
            return Err(SkillError::UnknownTool {
                skill: skill.id.clone(),
                tool: tool.clone(),
            });
        }
        if !seen.insert(tool.as_str()) {
            return Err(SkillError::DuplicateTool {
                skill: skill.id.clone(),
                tool: tool.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `id` names an MCP server's tools (`mcp:<server>`) rather than a skill of this
/// registry; the MCP hub resolves those, and the agent catalogue checks their syntax.
pub fn is_mcp_skill(id: &str) -> bool {
    id.starts_with("mcp:")
}
