//! What an MCP server is: its id, and how to reach it (a command the gateway runs, speaking
//! over stdio, or a streamable-HTTP URL with headers). Operator servers are read from the
//! `mcp.servers` section of `astra.yml`; workspace servers come from the database.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::config::Secret;

/// How the gateway reaches a server.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A child process started by the gateway, speaking JSON-RPC over stdin/stdout. Only the
    /// operator's file can name one: a tenant can never make the gateway run a command.
    Stdio {
        /// Program to run.
        command: String,
        /// Its arguments.
        args: Vec<String>,
        /// Extra environment variables.
        env: BTreeMap<String, String>,
    },
    /// A remote server over streamable HTTP.
    Http {
        /// Endpoint URL.
        url: String,
        /// Headers sent with every request (authorization and the like); secret.
        headers: Vec<(String, Secret)>,
    },
}

/// One MCP server the gateway can use.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// Id, the `<server>` of `mcp__<server>__<tool>` and of the skill `mcp:<server>`.
    pub id: String,
    /// How to reach it.
    pub transport: Transport,
}

/// Whether `id` can name a server: 1-32 lower-case letters, digits and `-`, starting with a
/// letter or digit (no `_`, so `mcp__<server>__<tool>` splits unambiguously).
pub fn valid_server_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    id: String,
    transport: String,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    args: Vec<Value>,
    #[serde(default)]
    env: BTreeMap<String, Value>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, Value>,
}

/// Reads the `mcp:` section of `astra.yml` (`servers: [{id, transport: stdio|http, command,
/// args, env | url, headers}]`); `null` means no servers.
pub fn parse_operator_servers(section: &Value) -> anyhow::Result<Vec<ServerSpec>> {
    let servers = match section.get("servers") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(v) => v.clone(),
    };
    let servers: Vec<FileServer> = serde_json::from_value(servers)
        .map_err(|e| anyhow::anyhow!("astra.yml mcp.servers: {e}"))?;
    let mut out: Vec<ServerSpec> = Vec::new();
    for s in servers {
        if !valid_server_id(&s.id) {
            anyhow::bail!(
                "astra.yml mcp.servers: id {:?} must be 1-32 of a-z, 0-9 and -",
                s.id
            );
        }
        if out.iter().any(|o| o.id == s.id) {
            anyhow::bail!("astra.yml mcp.servers: id {:?} appears twice", s.id);
        }
        let transport = match s.transport.as_str() {
            "stdio" => Transport::Stdio {
                command: s.command.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
                    anyhow::anyhow!("astra.yml mcp.servers ({}): stdio needs command", s.id)
                })?,
                args: s.args.iter().map(scalar).collect(),
                env: s.env.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
            },
            "http" => {
                let url = s.url.filter(|u| !u.trim().is_empty()).ok_or_else(|| {
                    anyhow::anyhow!("astra.yml mcp.servers ({}): http needs url", s.id)
                })?;
                crate::net::parse_outbound_url(&url)
                    .map_err(|e| anyhow::anyhow!("astra.yml mcp.servers ({}): {e}", s.id))?;
                let headers = s
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), Secret::new(scalar(v))))
                    .collect();
                Transport::Http { url, headers }
            }
            other => anyhow::bail!(
                "astra.yml mcp.servers ({}): transport {other:?} must be stdio or http",
                s.id
            ),
        };
        out.push(ServerSpec {
            id: s.id,
            transport,
        });
    }
    Ok(out)
}

/// A YAML scalar as text (numbers and booleans included).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_transports_and_refuses_bad_entries() {
        let servers = parse_operator_servers(&json!({"servers": [
            {"id": "files", "transport": "stdio", "command": "python3", "args": ["s.py", 1], "env": {"A": "b"}},
            {"id": "web", "transport": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"}},
        ]}))
        .unwrap();
        assert_eq!(servers.len(), 2);
        assert!(
            matches!(&servers[0].transport, Transport::Stdio { args, .. } if args == &["s.py", "1"])
        );
        assert!(
            matches!(&servers[1].transport, Transport::Http { headers, .. } if headers.len() == 1)
        );
        for bad in [
            json!({"servers": [{"id": "a_b", "transport": "stdio", "command": "x"}]}),
            json!({"servers": [{"id": "a", "transport": "stdio"}]}),
            json!({"servers": [{"id": "a", "transport": "ftp", "url": "x"}]}),
            json!({"servers": [{"id": "a", "transport": "http", "url": "file:///x"}]}),
            json!({"servers": [{"id": "a", "transport": "http", "url": "http://x", "extra": 1}]}),
        ] {
            assert!(parse_operator_servers(&bad).is_err(), "{bad}");
        }
        assert!(parse_operator_servers(&Value::Null).unwrap().is_empty());
    }
}
