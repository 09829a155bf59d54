//! Agents use tools from MCP servers (issue #16, client side), through the official Rust
//! SDK (`rmcp`).
//!
//! Two kinds of servers: **operator servers** from `astra.yml` (`mcp.servers`; stdio child
//! processes the gateway starts, supervises with backoff and stops on shutdown, or
//! streamable-HTTP endpoints), and **workspace servers** (`/mcp-servers`; streamable HTTP
//! only, the URL through the outbound guard, headers sealed at rest). A server's tools are
//! listed with `tools/list` and cached, named `mcp__<server>__<tool>`, and offered to an agent
//! that allows them (`tools.allow`) or names the skill `mcp:<server>`, unless denied.
//! A call runs `tools/call`; every failure becomes an error result for the model.

mod conn;
pub mod naming;
mod spec;
mod supervise;
mod tool;
pub mod workspace;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub use conn::{Connection, RemoteTool};
pub use spec::{ServerSpec, Transport, parse_operator_servers, valid_server_id};
pub use tool::{McpTool, map_result};

use crate::{credentials::CredentialCipher, skills::EffectiveTool, store::Store, tools::Tool};

/// Workspace servers' connections by (workspace, server), with the row version they were
/// built from.
type WorkspaceConnections = HashMap<(String, String), (DateTime<Utc>, Arc<Connection>)>;

/// An effective MCP tool of a turn: what the model is shown, and the tool that runs it.
pub type OfferedTool = (EffectiveTool, Arc<dyn Tool>);

/// Every MCP server the gateway knows: the operator's, started at boot, and the workspaces',
/// connected on first use and replaced when they change.
pub struct McpHub {
    operator: BTreeMap<String, Arc<Connection>>,
    workspace: Mutex<WorkspaceConnections>,
    store: Store,
    cipher: CredentialCipher,
    /// Client for workspace servers: the outbound guard's.
    guarded: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for McpHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpHub")
            .field("operator", &self.operator.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// How long connecting to a server may take before it is left out of a turn.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl McpHub {
    /// The hub over the operator's `servers`. Workspace servers are read from `store`, their
    /// headers opened with `cipher`, and reached through the outbound guard unless
    /// `allow_private`.
    pub fn new(
        servers: Vec<ServerSpec>,
        store: Store,
        cipher: CredentialCipher,
        allow_private: bool,
    ) -> anyhow::Result<Self> {
        // Operator endpoints are configuration, not tenant input: they may be private.
        let plain = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("MCP HTTP client: {e}"))?;
        let guarded = crate::net::guarded_builder(allow_private)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("MCP HTTP client: {e}"))?;
        let operator = servers
            .into_iter()
            .map(|s| (s.id.clone(), Arc::new(Connection::new(s, plain.clone()))))
            .collect();
        Ok(Self {
            operator,
            workspace: Mutex::default(),
            store,
            cipher,
            guarded,
            allow_private,
        })
    }

    /// Starts (and supervises, restarting with backoff) the operator's stdio servers on
    /// `tasks`; they are stopped when `shutdown` is cancelled.
    pub fn start(&self, tasks: &TaskTracker, shutdown: &CancellationToken) {
        for conn in self.operator.values().filter(|c| c.is_stdio()) {
            tasks.spawn(supervise::supervise(conn.clone(), shutdown.clone()));
        }
    }

    /// Whether the operator configured a server with this id.
    pub fn is_operator_server(&self, id: &str) -> bool {
        self.operator.contains_key(id)
    }

    /// The operator's server ids.
    pub fn operator_servers(&self) -> Vec<String> {
        self.operator.keys().cloned().collect()
    }

    /// The connection of server `id` as seen from workspace `ws`: the operator's, else the
    /// workspace's (its row read, its headers opened). `None` when neither exists.
    pub async fn connection(&self, ws: &str, id: &str) -> anyhow::Result<Option<Arc<Connection>>> {
        if let Some(conn) = self.operator.get(id) {
            return Ok(Some(conn.clone()));
        }
        let Some(row) = self.store.mcp_servers().mcp_server(ws, id).await? else {
            return Ok(None);
        };
        let key = (ws.to_string(), id.to_string());
        if let Some((stamp, conn)) = conn::lock(&self.workspace).get(&key)
            && *stamp == row.updated_at
        {
            return Ok(Some(conn.clone()));
        }
        let spec = workspace::spec_of(&self.cipher, &row)?;
        let conn = Arc::new(Connection::new(spec, self.guarded.clone()));
        let old = conn::lock(&self.workspace).insert(key, (row.updated_at, conn.clone()));
        if let Some((_, old)) = old {
            old.clear();
        }
        Ok(Some(conn))
    }

    /// Drops the cached connection of a workspace server (changed or deleted).
    pub fn forget(&self, ws: &str, id: &str) {
        let old = conn::lock(&self.workspace).remove(&(ws.to_string(), id.to_string()));
        if let Some((_, old)) = old {
            old.clear();
        }
    }

    /// The MCP tools an agent may call in workspace `ws`: those `allow` names and those of
    /// the servers its `skills` name as `mcp:<server>`, minus `deny`. Servers that cannot be
    /// reached now are left out (logged), never failing the turn.
    pub async fn effective_tools(
        &self,
        ws: &str,
        allow: &[String],
        deny: &[String],
        skills: &[String],
    ) -> Vec<OfferedTool> {
        let denied: BTreeSet<&str> = deny.iter().map(String::as_str).collect();
        let allowed: BTreeSet<&str> = allow.iter().map(String::as_str).collect();
        let mut servers: Vec<(&str, Option<&str>)> = Vec::new();
        for name in allow {
            if let Some(server) = naming::server_of_tool(name)
                && !servers.iter().any(|(s, _)| *s == server)
            {
                servers.push((server, None));
            }
        }
        for skill in skills {
            if let Some(server) = naming::server_of_skill(skill) {
                match servers.iter_mut().find(|(s, _)| *s == server) {
                    Some(entry) => entry.1 = Some(skill),
                    None => servers.push((server, Some(skill))),
                }
            }
        }
        let mut out: Vec<OfferedTool> = Vec::new();
        for (server, skill) in servers {
            let conn = match self.ready_connection(ws, server).await {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(server, error = %e, "MCP server unavailable; its tools are not offered");
                    continue;
                }
            };
            for remote in conn.tools().iter() {
                let by_allow = allowed.contains(remote.name.as_str());
                if denied.contains(remote.name.as_str()) || !(by_allow || skill.is_some()) {
                    continue;
                }
                let offered = EffectiveTool {
                    name: remote.name.clone(),
                    description: remote.description.clone(),
                    parameters: remote.parameters.clone(),
                    skill: if by_allow {
                        None
                    } else {
                        skill.map(str::to_string)
                    },
                };
                let tool: Arc<dyn Tool> = Arc::new(McpTool::new(remote.clone(), conn.clone()));
                out.push((offered, tool));
            }
        }
        out
    }

    /// A connection whose tools are listed: HTTP servers are connected now if they are not.
    async fn ready_connection(&self, ws: &str, server: &str) -> Result<Arc<Connection>, String> {
        let conn = self
            .connection(ws, server)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no MCP server {server:?}"))?;
        if !conn.is_stdio() && conn.tools().is_empty() {
            tokio::time::timeout(CONNECT_TIMEOUT, conn.refresh())
                .await
                .map_err(|_| "connecting timed out".to_string())??;
        }
        Ok(conn)
    }

    /// Whether workspace servers may sit on private addresses.
    pub fn allow_private(&self) -> bool {
        self.allow_private
    }

    /// The cipher sealing workspace servers' headers.
    pub fn cipher(&self) -> &CredentialCipher {
        &self.cipher
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
