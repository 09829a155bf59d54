//! Workspace MCP servers: URL, header names and the sealed headers (never opened here).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Store;
use crate::with_pool;

/// A stored server. `headers_ciphertext` is the sealed JSON object of headers; its `Debug`
/// is masked.
#[derive(Clone, PartialEq, FromRow)]
pub struct McpServerRow {
    /// Owning workspace.
    pub workspace_id: String,
    /// Id, unique in the workspace (the `<server>` of `mcp__<server>__<tool>`).
    pub id: String,
    /// Streamable-HTTP endpoint.
    pub url: String,
    /// JSON array of the header names (values are sealed).
    pub header_names: String,
    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag) of a JSON object, or `NULL` without headers.
    pub headers_ciphertext: Option<String>,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for McpServerRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerRow")
            .field("workspace_id", &self.workspace_id)
            .field("id", &self.id)
            .field("url", &self.url)
            .field("header_names", &self.header_names)
            .field("headers_ciphertext", &"***")
            .finish()
    }
}

const COLUMNS: &str =
    "workspace_id, id, url, header_names, headers_ciphertext, created_by, created_at, updated_at";

/// Workspace MCP servers.
#[derive(Clone, Copy)]
pub struct McpServers<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The MCP servers aggregate.
    pub fn mcp_servers(&self) -> McpServers<'_> {
        McpServers(self)
    }
}

impl McpServers<'_> {
    /// Inserts a server; a taken id surfaces as a unique violation.
    pub async fn insert_mcp_server(self, r: &McpServerRow) -> Result<(), sqlx::Error> {
        let sql =
            format!("INSERT INTO mcp_servers ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&r.workspace_id).bind(&r.id).bind(&r.url).bind(&r.header_names)
                .bind(&r.headers_ciphertext).bind(&r.created_by).bind(r.created_at)
                .bind(r.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Replaces URL and headers of a server; false when there is no such server.
    pub async fn update_mcp_server(self, r: &McpServerRow) -> Result<bool, sqlx::Error> {
        let affected = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE mcp_servers SET url = $1, header_names = $2, headers_ciphertext = $3, updated_at = $4 WHERE workspace_id = $5 AND id = $6")
                .bind(&r.url).bind(&r.header_names).bind(&r.headers_ciphertext)
                .bind(r.updated_at).bind(&r.workspace_id).bind(&r.id)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }

    /// One server of one workspace.
    pub async fn mcp_server(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<McpServerRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM mcp_servers WHERE workspace_id = $1 AND id = $2");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(id).fetch_optional(p).await
        })
    }

    /// A page of a workspace's servers by id, and their total.
    pub async fn mcp_servers_of(
        self,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<McpServerRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM mcp_servers WHERE workspace_id = $1 ORDER BY id LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM mcp_servers WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Deletes a server; false when the workspace has no such server.
    pub async fn delete_mcp_server(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<bool, sqlx::Error> {
        let affected = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM mcp_servers WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id).bind(id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
