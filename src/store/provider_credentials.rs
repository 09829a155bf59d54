//! Workspace provider credentials: metadata plus the encrypted key (never decrypted here).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::Store;
use crate::with_pool;

/// A stored credential. `secret_ciphertext` is the sealed key; its `Debug` is masked.
#[derive(Clone, PartialEq, FromRow)]
pub struct ProviderCredentialRow {
    /// `pcr_…`
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Unique per workspace.
    pub name: String,
    /// Provider id the key belongs to.
    pub provider: String,
    /// Base URL used when the agent names no endpoint.
    pub base_url: Option<String>,
    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub secret_ciphertext: String,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for ProviderCredentialRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderCredentialRow")
            .field("id", &self.id)
            .field("workspace_id", &self.workspace_id)
            .field("name", &self.name)
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("secret_ciphertext", &"***")
            .finish()
    }
}

const COLUMNS: &str =
    "id, workspace_id, name, provider, base_url, secret_ciphertext, created_by, created_at";

/// Workspace provider credentials.
#[derive(Clone, Copy)]
pub struct ProviderCredentials<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The provider credentials aggregate.
    pub fn provider_credentials(&self) -> ProviderCredentials<'_> {
        ProviderCredentials(self)
    }
}

impl ProviderCredentials<'_> {
    /// Inserts a credential; a duplicate name surfaces as a unique violation.
    pub async fn insert_provider_credential(
        self,
        c: &ProviderCredentialRow,
    ) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO provider_credentials ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&c.id).bind(&c.workspace_id).bind(&c.name).bind(&c.provider)
                .bind(&c.base_url).bind(&c.secret_ciphertext).bind(&c.created_by)
                .bind(c.created_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// One credential of one workspace.
    pub async fn provider_credential(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<ProviderCredentialRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM provider_credentials WHERE workspace_id = $1 AND id = $2"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(id).fetch_optional(p).await
        })
    }

    /// A page of a workspace's credentials, newest first, and their total.
    pub async fn provider_credentials_of(
        self,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<ProviderCredentialRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM provider_credentials WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM provider_credentials WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Deletes a credential; false when the workspace has no such credential.
    pub async fn delete_provider_credential(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<bool, sqlx::Error> {
        let affected = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM provider_credentials WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id).bind(id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(affected > 0)
    }
}
