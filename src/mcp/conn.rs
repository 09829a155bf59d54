//! One MCP server as the gateway sees it: a session opened with `rmcp` (a child process over
//! stdio, or streamable HTTP), the tools it lists (cached, refreshed when the server sends
//! `notifications/tools/list_changed`, on reconnect and on demand) and `tools/call`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use rmcp::{
    ClientHandler, ServiceExt,
    model::{CallToolRequestParams, ClientConfig, Implementation},
    service::{NotificationContext, Peer, RoleClient, RunningService},
    transport::{
        StreamableHttpClientTransport, TokioChildProcess,
        streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::Value;

use super::{
    naming,
    spec::{ServerSpec, Transport},
};

/// A tool a server offers, under the name the gateway gives it.
#[derive(Debug, Clone)]
pub struct RemoteTool {
    /// `mcp__<server>__<tool>`.
    pub name: String,
    /// The name on the server.
    pub remote: String,
    /// Description shown to the model.
    pub description: String,
    /// JSON schema of the arguments.
    pub parameters: Value,
}

/// The running session with its client handler.
pub(super) type Session = RunningService<RoleClient, Handler>;

type ToolList = Arc<Mutex<Arc<Vec<RemoteTool>>>>;

/// Locks a mutex, ignoring poisoning (the guarded values stay consistent: they are swapped
/// whole).
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A server: its spec, its live session (if any) and its cached tools.
pub struct Connection {
    /// The server's spec.
    pub spec: ServerSpec,
    http: reqwest::Client,
    peer: Mutex<Option<Peer<RoleClient>>>,
    /// The session of an HTTP server (a stdio server's is held by its supervisor).
    session: Mutex<Option<Session>>,
    tools: ToolList,
    connecting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.spec.id)
            .finish()
    }
}

/// Receives the server's notifications: a changed tool list is listed again.
#[derive(Clone)]
pub(super) struct Handler {
    server: String,
    tools: ToolList,
}

impl ClientHandler for Handler {
    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        // rmcp runs each notification on its own task, so listing here never blocks the
        // session's loop.
        match list_tools(&self.server, &context.peer).await {
            Ok(list) => *lock(&self.tools) = Arc::new(list),
            Err(e) => tracing::warn!(server = %self.server, error = %e, "MCP tools/list failed"),
        }
    }

    fn get_info(&self) -> ClientConfig {
        let mut config = ClientConfig::default();
        config.client_info = Implementation::new("astra", env!("CARGO_PKG_VERSION"));
        config
    }
}

impl Connection {
    /// A connection that is not open yet. `http` carries streamable-HTTP requests (the
    /// outbound-guarded client for workspace servers).
    pub fn new(spec: ServerSpec, http: reqwest::Client) -> Self {
        Self {
            spec,
            http,
            peer: Mutex::new(None),
            session: Mutex::new(None),
            tools: Arc::default(),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether this server is a child process (supervised) rather than an HTTP endpoint.
    pub fn is_stdio(&self) -> bool {
        matches!(self.spec.transport, Transport::Stdio { .. })
    }

    /// The cached tool list.
    pub fn tools(&self) -> Arc<Vec<RemoteTool>> {
        lock(&self.tools).clone()
    }

    fn live_peer(&self) -> Option<Peer<RoleClient>> {
        lock(&self.peer)
            .as_ref()
            .filter(|p| !p.is_transport_closed())
            .cloned()
    }

    /// Opens a session and lists its tools; the caller keeps the session running.
    pub(super) async fn open(&self) -> Result<Session, String> {
        let handler = Handler {
            server: self.spec.id.clone(),
            tools: self.tools.clone(),
        };
        let session = match &self.spec.transport {
            Transport::Stdio { command, args, env } => {
                let mut cmd = tokio::process::Command::new(command);
                cmd.args(args).envs(env).kill_on_drop(true);
                let (process, _) = TokioChildProcess::builder(cmd)
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .map_err(|e| format!("cannot start {command:?}: {e}"))?;
                handler.serve(process).await.map_err(|e| e.to_string())?
            }
            Transport::Http { url, headers } => {
                let mut map = HashMap::new();
                for (name, value) in headers {
                    let name = reqwest::header::HeaderName::try_from(name.as_str())
                        .map_err(|_| format!("invalid header name {name:?}"))?;
                    let value = reqwest::header::HeaderValue::from_str(value.expose())
                        .map_err(|_| format!("invalid value for header {name}"))?;
                    map.insert(name, value);
                }
                let config =
                    StreamableHttpClientTransportConfig::with_uri(url.as_str()).custom_headers(map);
                let transport =
                    StreamableHttpClientTransport::with_client(self.http.clone(), config);
                handler.serve(transport).await.map_err(|e| e.to_string())?
            }
        };
        let list = list_tools(&self.spec.id, session.peer()).await?;
        *lock(&self.tools) = Arc::new(list);
        *lock(&self.peer) = Some(session.peer().clone());
        Ok(session)
    }

    /// Forgets the session (it ended or is being replaced).
    pub(super) fn clear(&self) {
        *lock(&self.peer) = None;
        // Dropping the session ends it (and its HTTP streams).
        drop(lock(&self.session).take());
    }

    /// A live peer: the current one, or — for HTTP servers — a new session opened now.
    /// Stdio servers are opened by their supervisor only.
    pub(super) async fn peer(&self) -> Result<Peer<RoleClient>, String> {
        if let Some(peer) = self.live_peer() {
            return Ok(peer);
        }
        if self.is_stdio() {
            return Err(format!(
                "MCP server {:?} is not running (restarting)",
                self.spec.id
            ));
        }
        let _guard = self.connecting.lock().await;
        if let Some(peer) = self.live_peer() {
            return Ok(peer);
        }
        let session = self.open().await?;
        let peer = session.peer().clone();
        drop(lock(&self.session).replace(session));
        Ok(peer)
    }

    /// Lists the tools again over the live session (or a new one for HTTP servers).
    pub async fn refresh(&self) -> Result<usize, String> {
        let peer = self.peer().await?;
        let list = list_tools(&self.spec.id, &peer).await?;
        let n = list.len();
        *lock(&self.tools) = Arc::new(list);
        Ok(n)
    }

    /// Calls `remote` with `args`. Transport and protocol failures are `Err` with a message
    /// the model may see; a result the server marks as an error is `Ok` with `is_error`.
    pub async fn call(&self, remote: &str, args: Value) -> Result<Value, String> {
        let peer = self.peer().await?;
        let mut params = CallToolRequestParams::new(remote.to_string());
        params.arguments = match args {
            Value::Object(map) => Some(map),
            Value::Null => None,
            other => return Err(format!("arguments must be an object, not {other}")),
        };
        let result = peer.call_tool(params).await;
        match result {
            Ok(r) => serde_json::to_value(&r).map_err(|e| format!("unreadable result: {e}")),
            Err(e) => {
                if peer.is_transport_closed() {
                    self.clear();
                }
                Err(format!("MCP server {:?}: {e}", self.spec.id))
            }
        }
    }
}

/// `tools/list` (every page), renamed for the gateway; tools whose gateway name would be
/// invalid or too long for providers are skipped.
async fn list_tools(server: &str, peer: &Peer<RoleClient>) -> Result<Vec<RemoteTool>, String> {
    let tools = tokio::time::timeout(LIST_TIMEOUT, peer.list_all_tools())
        .await
        .map_err(|_| format!("MCP server {server:?}: tools/list timed out"))?
        .map_err(|e| format!("MCP server {server:?}: tools/list failed: {e}"))?;
    let mut out = Vec::new();
    for tool in tools {
        let Some(name) = naming::tool_name(server, &tool.name) else {
            tracing::warn!(server, tool = %tool.name, "MCP tool name too long or empty; skipped");
            continue;
        };
        out.push(RemoteTool {
            name,
            remote: tool.name.to_string(),
            description: tool
                .description
                .as_deref()
                .unwrap_or(&tool.name)
                .to_string(),
            parameters: Value::Object((*tool.input_schema).clone()),
        });
    }
    Ok(out)
}

/// How long a `tools/list` may take.
const LIST_TIMEOUT: Duration = Duration::from_secs(15);
