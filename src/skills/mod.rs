//! Skills: named groups of tools with instructions appended to an agent's
//! system prompt. Built-in skills live in code, more come from `astra.yml`.

mod builtin;
mod effective;
mod registry;

use serde::{Deserialize, Serialize};

pub use effective::{EffectiveTool, effective_tools};
pub use registry::{SkillRegistry, is_mcp_skill};

/// A skill as served by `GET /skills/:id` and used by agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    /// Stable id agents refer to (`web_research`).
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Grouping for listings (`utility`, `research`, `memory`, …).
    pub category: String,
    /// What the skill lets an agent do.
    pub description: String,
    /// Names of the tools the skill brings, in order.
    pub tools: Vec<String>,
    /// Prompt text appended to the system prompt of agents with the skill.
    pub instructions: String,
    /// True for skills defined in code, false for those from `astra.yml`.
    pub builtin: bool,
}

/// Why the configured skills are unusable. Each names the offending skill so
/// the operator can fix `astra.yml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// A `skills:` entry does not have the expected shape.
    #[error("skills[{index}]: {message}")]
    Invalid {
        /// Position in the `skills:` list.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// The id is empty or not lowercase letters, digits, `-` and `_`.
    #[error(
        "skill '{id}': id must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter"
    )]
    InvalidId {
        /// The rejected id.
        id: String,
    },
    /// The skill lists a tool the registry does not know.
    #[error("skill '{skill}' lists unknown tool '{tool}'")]
    UnknownTool {
        /// The skill's id.
        skill: String,
        /// The unknown tool name.
        tool: String,
    },
    /// The skill lists the same tool twice.
    #[error("skill '{skill}' lists tool '{tool}' more than once")]
    DuplicateTool {
        /// The skill's id.
        skill: String,
        /// The repeated tool name.
        tool: String,
    },
    /// Two skills (or a configured skill and a built-in one) share an id.
    #[error("duplicate skill id '{id}'")]
    Duplicate {
        /// The repeated id.
        id: String,
    },
}

/// Whether `id` is acceptable as a skill id.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
