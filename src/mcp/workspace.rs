//! Workspace MCP servers behind `/mcp-servers`: remote servers over streamable HTTP only (a
//! tenant can never make the gateway run a command). The URL goes through the outbound
//! guard; headers are write-only secrets, sealed at rest like provider credentials and
//! never returned.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    McpHub, RemoteTool,
    spec::{ServerSpec, Transport, valid_server_id},
};
use crate::{
    config::Secret,
    credentials::CredentialCipher,
    error::{ApiError, ApiResult},
    store::{McpServerRow, is_unique_violation},
    validate::Problems,
};

/// Most headers a server may carry.
const MAX_HEADERS: usize = 20;
/// Headers the MCP transport sets itself.
const RESERVED: [&str; 7] = [
    "accept",
    "content-type",
    "content-length",
    "host",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// A server as submitted to `POST /mcp-servers` (all fields) or `PUT /mcp-servers/{id}`
/// (`id` ignored; `headers` absent keeps the stored ones, `{}` removes them).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServerIn {
    /// 1-32 of `a-z`, `0-9` and `-`, unique in the workspace and not an operator server's id;
    /// tools are named `mcp__<id>__<tool>`.
    pub id: Option<String>,
    /// Streamable-HTTP endpoint (`http`/`https`); goes through the outbound guard.
    pub url: Option<String>,
    /// Headers sent with every request (e.g. `Authorization`); write-only.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub headers: Option<BTreeMap<String, Secret>>,
}

/// What the sealed headers are bound to: a ciphertext moved to another row does not open.
fn aad(workspace_id: &str, id: &str) -> String {
    format!("mcp-server:{workspace_id}:{id}")
}

/// The spec of a stored server, its headers opened.
pub(super) fn spec_of(cipher: &CredentialCipher, row: &McpServerRow) -> anyhow::Result<ServerSpec> {
    let headers = match &row.headers_ciphertext {
        None => Vec::new(),
        Some(sealed) => {
            let plain = cipher
                .open(sealed, &aad(&row.workspace_id, &row.id))
                .map_err(|e| anyhow::anyhow!("opening MCP server headers: {e}"))?;
            let map: BTreeMap<String, String> = serde_json::from_str(plain.expose())?;
            map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect()
        }
    };
    Ok(ServerSpec {
        id: row.id.clone(),
        transport: Transport::Http {
            url: row.url.clone(),
            headers,
        },
    })
}

/// Checks URL and headers; records problems.
fn check(hub: &McpHub, p: &mut Problems, input: &McpServerIn) {
    match input.url.as_deref().map(str::trim) {
        None | Some("") => p.add("url", "is required"),
        Some(raw) => {
            let checked = crate::net::parse_outbound_url(raw)
                .and_then(|u| crate::net::check_url(&u, hub.allow_private()));
            if let Err(e) = checked {
                p.add("url", e.to_string());
            }
        }
    }
    if let Some(headers) = &input.headers {
        if headers.len() > MAX_HEADERS {
            p.add("headers", format!("at most {MAX_HEADERS} headers"));
        }
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if reqwest::header::HeaderName::try_from(name.as_str()).is_err()
                || RESERVED.contains(&lower.as_str())
            {
                p.add(
                    "headers",
                    format!("{name:?} is not a header this server may set"),
                );
            } else if reqwest::header::HeaderValue::from_str(value.expose()).is_err()
                || value.expose().len() > 8192
            {
                p.add(
                    "headers",
                    format!("the value of {name:?} is not a valid header value"),
                );
            }
        }
    }
}

/// Header names (JSON array) and sealed headers of a row.
fn seal_headers(
    hub: &McpHub,
    ws: &str,
    id: &str,
    headers: &BTreeMap<String, Secret>,
) -> ApiResult<(String, Option<String>)> {
    let names: Vec<&String> = headers.keys().collect();
    let names = serde_json::to_string(&names).map_err(anyhow::Error::from)?;
    if headers.is_empty() {
        return Ok((names, None));
    }
    let plain: BTreeMap<&str, &str> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    let plain = Secret::new(serde_json::to_string(&plain).map_err(anyhow::Error::from)?);
    let sealed = hub
        .cipher()
        .seal(&plain, &aad(ws, id))
        .map_err(|e| anyhow::anyhow!("sealing MCP server headers: {e}"))?;
    Ok((names, Some(sealed)))
}

/// Creates a server of `ws`; a taken id (or an operator server's) is 409.
pub async fn create(
    hub: &McpHub,
    ws: &str,
    actor: &str,
    input: McpServerIn,
) -> ApiResult<McpServerRow> {
    let mut p = Problems::new();
    let id = input.id.clone().unwrap_or_default();
    if !valid_server_id(&id) {
        p.add("id", "must be 1-32 of a-z, 0-9 and -, not starting with -");
    }
    check(hub, &mut p, &input);
    p.finish()?;
    if hub.is_operator_server(&id) {
        return Err(ApiError::Conflict(format!(
            "{id:?} is the id of a gateway MCP server"
        )));
    }
    let (header_names, headers_ciphertext) =
        seal_headers(hub, ws, &id, &input.headers.unwrap_or_default())?;
    let now = crate::store::stored_now();
    let row = McpServerRow {
        workspace_id: ws.to_string(),
        id: id.clone(),
        url: input.url.unwrap_or_default().trim().to_string(),
        header_names,
        headers_ciphertext,
        created_by: actor.to_string(),
        created_at: now,
        updated_at: now,
    };
    match hub.store().mcp_servers().insert_mcp_server(&row).await {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "An MCP server with id {id:?} already exists in this workspace"
            )));
        }
        other => other?,
    }
    audit(hub, actor, ws, "mcp_server.create", &id).await?;
    Ok(row)
}

/// Replaces URL (and headers, when given) of a server of `ws`.
pub async fn update(
    hub: &McpHub,
    ws: &str,
    actor: &str,
    id: &str,
    input: McpServerIn,
) -> ApiResult<McpServerRow> {
    let mut row = get(hub, ws, id).await?;
    let mut p = Problems::new();
    check(hub, &mut p, &input);
    p.finish()?;
    row.url = input.url.unwrap_or_default().trim().to_string();
    if let Some(headers) = &input.headers {
        (row.header_names, row.headers_ciphertext) = seal_headers(hub, ws, id, headers)?;
    }
    row.updated_at = crate::store::stored_now();
    if !hub.store().mcp_servers().update_mcp_server(&row).await? {
        return Err(ApiError::not_found("MCP server"));
    }
    hub.forget(ws, id);
    audit(hub, actor, ws, "mcp_server.update", id).await?;
    Ok(row)
}

/// One server of `ws` (404 when it has none with this id).
pub async fn get(hub: &McpHub, ws: &str, id: &str) -> ApiResult<McpServerRow> {
    hub.store()
        .mcp_servers()
        .mcp_server(ws, id)
        .await?
        .ok_or_else(|| ApiError::not_found("MCP server"))
}

/// A page of the servers of `ws`, and their total.
pub async fn list(
    hub: &McpHub,
    ws: &str,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<McpServerRow>, i64)> {
    Ok(hub
        .store()
        .mcp_servers()
        .mcp_servers_of(ws, limit, offset)
        .await?)
}

/// Deletes a server of `ws` (404 when it has none with this id).
pub async fn delete(hub: &McpHub, ws: &str, actor: &str, id: &str) -> ApiResult<()> {
    if !hub.store().mcp_servers().delete_mcp_server(ws, id).await? {
        return Err(ApiError::not_found("MCP server"));
    }
    hub.forget(ws, id);
    audit(hub, actor, ws, "mcp_server.delete", id).await
}

/// Connects to a server of `ws` (or an operator server) and lists its tools again: the tools,
/// or why the server could not be reached or answered badly (404 when there is no server).
pub async fn refresh(
    hub: &McpHub,
    ws: &str,
    id: &str,
) -> ApiResult<Result<Vec<RemoteTool>, String>> {
    let conn = hub
        .connection(ws, id)
        .await?
        .ok_or_else(|| ApiError::not_found("MCP server"))?;
    let listed = tokio::time::timeout(super::CONNECT_TIMEOUT, conn.refresh())
        .await
        .unwrap_or_else(|_| Err("the server did not answer in time".to_string()));
    Ok(listed.map(|_| conn.tools().to_vec()))
}

async fn audit(hub: &McpHub, actor: &str, ws: &str, action: &str, id: &str) -> ApiResult<()> {
    hub.store()
        .users()
        .audit(actor, Some(ws), action, Some(id), serde_json::Value::Null)
        .await?;
    Ok(())
}
