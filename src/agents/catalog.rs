//! Checks an agent's skill ids and tool names against the registries, so a typo is a 400
//! (or a start-up error for `astra.yml` agents) instead of a silently missing capability.
//! MCP tools (`mcp__<server>__<tool>`) and `mcp:<server>` skills are checked for syntax only.

use super::AgentConfig;
use crate::{
    mcp::naming,
    skills::{SkillRegistry, is_mcp_skill},
    tools::ToolRegistry,
    validate::Problems,
};

/// Records a problem per field naming the skills and tools that do not exist.
pub fn check_catalog(
    p: &mut Problems,
    config: &AgentConfig,
    skills: &SkillRegistry,
    tools: &ToolRegistry,
) {
    let mut unknown = skills.unknown(&config.skills);
    // `mcp:<server>` brings a server's tools; only its syntax is checked here, since a
    // workspace may add the server later and a server may be offline.
    unknown.extend(
        config
            .skills
            .iter()
            .filter(|id| is_mcp_skill(id) && naming::server_of_skill(id).is_none())
            .map(String::as_str),
    );
    if !unknown.is_empty() {
        let known: Vec<&str> = skills.list().iter().map(|s| s.id.as_str()).collect();
        p.add(
            "skills",
            format!(
                "unknown skill {}; known: {}",
                quoted(&unknown),
                known.join(", ")
            ),
        );
    }
    for (field, names) in [
        ("tools.allow", &config.tools.allow),
        ("tools.deny", &config.tools.deny),
    ] {
        let unknown: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !tools.contains(n) && naming::server_of_tool(n).is_none())
            .collect();
        if !unknown.is_empty() {
            p.add(field, format!("unknown tool {}", quoted(&unknown)));
        }
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same check for agents defined outside the API (`astra.yml`, the onboarding
/// starters): the first failure becomes a start-up error naming the agent and the field.
pub fn require_catalog<'a>(
    agents: impl IntoIterator<Item = &'a AgentConfig>,
    origin: &str,
    skills: &SkillRegistry,
    tools: &ToolRegistry,
) -> anyhow::Result<()> {
    for agent in agents {
        let mut p = Problems::new();
        check_catalog(&mut p, agent, skills, tools);
        if let Err(e) = p.finish() {
            anyhow::bail!("{origin} ({}): {e}", agent.id);
        }
    }
    Ok(())
}
