//! How MCP tools are named for models and agents: `mcp__<server>__<tool>`, and the skill
//! `mcp:<server>` that brings every tool of a server.

use super::spec::valid_server_id;

/// Prefix of every MCP tool name.
pub const TOOL_PREFIX: &str = "mcp__";
/// Prefix of the skill that brings all of a server's tools.
pub const SKILL_PREFIX: &str = "mcp:";
/// Longest tool name providers accept.
const MAX_TOOL_NAME: usize = 64;

/// The gateway's name for `tool` of `server`: characters providers refuse become `_`;
/// `None` when the result is empty or longer than 64 characters.
pub fn tool_name(server: &str, tool: &str) -> Option<String> {
    let clean: String = tool
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("{TOOL_PREFIX}{server}__{clean}");
    (!clean.is_empty() && name.len() <= MAX_TOOL_NAME).then_some(name)
}

/// The server of an MCP tool name (`mcp__<server>__<tool>`), when it is one.
pub fn server_of_tool(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(TOOL_PREFIX)?;
    let (server, tool) = rest.split_once("__")?;
    (valid_server_id(server) && !tool.is_empty()).then_some(server)
}

/// The server of an `mcp:<server>` skill id, when it is one.
pub fn server_of_skill(id: &str) -> Option<&str> {
    id.strip_prefix(SKILL_PREFIX)
        .filter(|server| valid_server_id(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_sanitised() {
        assert_eq!(
            tool_name("files", "read").as_deref(),
            Some("mcp__files__read")
        );
        assert_eq!(
            tool_name("files", "a.b/c").as_deref(),
            Some("mcp__files__a_b_c")
        );
        assert_eq!(tool_name("files", ""), None);
        assert_eq!(tool_name("files", &"x".repeat(80)), None);
        assert_eq!(server_of_tool("mcp__files__read"), Some("files"));
        assert_eq!(server_of_tool("mcp__files__a__b"), Some("files"));
        assert_eq!(server_of_tool("mcp__Files__read"), None);
        assert_eq!(server_of_tool("mcp__files__"), None);
        assert_eq!(server_of_tool("calculator"), None);
        assert_eq!(server_of_skill("mcp:files"), Some("files"));
        assert_eq!(server_of_skill("mcp:"), None);
        assert_eq!(server_of_skill("utilities"), None);
    }
}
