//! Workspaces, their members and cross-workspace agent grants.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, Store};
use crate::with_pool;

/// A stored workspace.
#[derive(Debug, Clone, FromRow)]
pub struct WorkspaceRow {
    /// `ws_…`
    pub id: String,
    /// Display name.
    pub name: String,
    /// The creating user.
    pub owner_id: String,
    /// Plan name.
    pub plan: String,
    /// Free-form settings object.
    pub settings: Json<Value>,
    /// Providers agents may use; `None` = any.
    pub allowed_providers: Option<Json<Vec<String>>>,
    /// Models agents may use; `None` = any.
    pub allowed_models: Option<Json<Vec<String>>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A member of a workspace, with the user's email.
#[derive(Debug, Clone, FromRow)]
pub struct MemberRow {
    /// Workspace.
    pub workspace_id: String,
    /// Member.
    pub user_id: String,
    /// Member email.
    pub email: String,
    /// `owner|admin|member|viewer`.
    pub role: String,
    /// When the member joined.
    pub created_at: DateTime<Utc>,
}

/// A grant letting another workspace use one agent.
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    /// `grt_…`
    pub id: String,
    /// Granting workspace (owns the agent).
    pub workspace_id: String,
    /// Workspace receiving access.
    pub receiving_workspace_id: String,
    /// Agent id in the granting workspace.
    pub agent_id: String,
    /// Receiver may run but not change the agent.
    pub readonly: bool,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who granted it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const WS_COLUMNS: &str = "w.id, w.name, w.owner_id, w.plan, w.settings, w.allowed_providers, w.allowed_models, w.created_at, w.updated_at";

impl Store {
    /// Creates a workspace with its creator as owner, atomically.
    pub async fn create_workspace(&self, ws: &WorkspaceRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO workspaces (id, name, owner_id, plan, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&ws.id).bind(&ws.name).bind(&ws.owner_id).bind(&ws.plan)
                .bind(&ws.settings).bind(ws.created_at).bind(ws.updated_at)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(&ws.id).bind(&ws.owner_id).bind(ws.created_at)
                .execute(&mut *tx).await?;
            tx.commit().await
        })
    }

    /// A workspace by id.
    pub async fn workspace(&self, id: &str) -> Result<Option<WorkspaceRow>, sqlx::Error> {
        let sql = format!("SELECT {WS_COLUMNS} FROM workspaces w WHERE w.id = $1");
        with_pool!(&self.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)
    }

    /// A workspace, possibly up to a few seconds old (chat turns; never for read-modify-write).
    pub async fn workspace_cached(&self, id: &str) -> Result<Option<WorkspaceRow>, sqlx::Error> {
        if let Some(row) = self.cache.workspaces.get(&id.to_string()) {
            return Ok(Some(row));
        }
        let row = self.workspace(id).await?;
        if let Some(row) = &row {
            self.cache.workspaces.put(id.to_string(), row.clone());
        }
        Ok(row)
    }

    /// The caller's role, possibly up to a few seconds old (request admission).
    pub async fn member_role_cached(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let key = (workspace_id.to_string(), user_id.to_string());
        if let Some(role) = self.cache.roles.get(&key) {
            return Ok(Some(role));
        }
        let role = self.member_role(workspace_id, user_id).await?;
        if let Some(role) = &role {
            self.cache.roles.put(key, role.clone());
        }
        Ok(role)
    }

    fn forget_role(&self, workspace_id: &str, user_id: &str) {
        self.cache
            .roles
            .forget_where(|(ws, u)| ws == workspace_id && u == user_id);
    }

    /// The caller's workspaces with their role, oldest first, paginated; plus the total.
    pub async fn workspaces_of(
        &self,
        user_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<(WorkspaceRow, String)>, i64), sqlx::Error> {
        #[derive(FromRow)]
        struct Joined {
            #[sqlx(flatten)]
            ws: WorkspaceRow,
            role: String,
        }
        let sql = format!(
            "SELECT {WS_COLUMNS}, m.role FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id \
             WHERE m.user_id = $1 ORDER BY w.created_at, w.id LIMIT $2 OFFSET $3"
        );
        let (rows, total): (Vec<Joined>, i64) = with_pool!(&self.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(user_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE user_id = $1")
                .bind(user_id).fetch_one(p).await?;
            (rows, total)
        });
        Ok((rows.into_iter().map(|j| (j.ws, j.role)).collect(), total))
    }

    /// The oldest workspace the user belongs to (used when no `X-Workspace-Id` is sent).
    pub async fn first_workspace_of(
        &self,
        user_id: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT workspace_id, role FROM workspace_members WHERE user_id = $1 ORDER BY created_at, workspace_id LIMIT 1")
                .bind(user_id).fetch_optional(p).await
        })
    }

    /// The caller's role in a workspace, if a member.
    pub async fn member_role(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_scalar("SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace_id).bind(user_id).fetch_optional(p).await
        })
    }

    /// Saves name, plan and settings.
    pub async fn update_workspace(&self, ws: &WorkspaceRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query("UPDATE workspaces SET name = $2, plan = $3, settings = $4, allowed_providers = $5, allowed_models = $6, updated_at = $7 WHERE id = $1")
                .bind(&ws.id).bind(&ws.name).bind(&ws.plan).bind(&ws.settings)
                .bind(&ws.allowed_providers).bind(&ws.allowed_models).bind(ws.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        let id = ws.id.clone();
        self.cache.workspaces.forget_where(|k| *k == id);
        Ok(())
    }

    /// Adds a member or changes their role; returns true when the member is new.
    pub async fn upsert_member(
        &self,
        workspace_id: &str,
        user_id: &str,
        role: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        self.forget_role(workspace_id, user_id);
        let updated = with_pool!(&self.pool, p => {
            sqlx::query("UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace_id).bind(user_id).bind(role).execute(p).await.map(|r| r.rows_affected())
        })?;
        if updated > 0 {
            return Ok(false);
        }
        with_pool!(&self.pool, p => {
            sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(workspace_id).bind(user_id).bind(role).bind(now).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(true)
    }

    /// One member with email.
    pub async fn member(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<MemberRow>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2")
                .bind(workspace_id).bind(user_id).fetch_optional(p).await
        })
    }

    /// All members of a workspace.
    pub async fn members(&self, workspace_id: &str) -> Result<Vec<MemberRow>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.created_at, m.user_id")
                .bind(workspace_id).fetch_all(p).await
        })
    }

    /// Removes a member unless they are the last owner; `Ok(None)` when not a member,
    /// `Ok(Some(false))` when refused as last owner.
    pub async fn remove_member(
        &self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<bool>, sqlx::Error> {
        self.forget_role(workspace_id, user_id);
        // One statement, so two concurrent removals cannot both pass the last-owner check.
        let sql = "DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 \
                   AND (role <> 'owner' OR (SELECT COUNT(*) FROM workspace_members o WHERE o.workspace_id = $1 AND o.role = 'owner') > 1)";
        let done = with_pool!(&self.pool, p => {
            sqlx::query(sql).bind(workspace_id).bind(user_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        if done == 1 {
            return Ok(Some(true));
        }
        Ok(self
            .member_role(workspace_id, user_id)
            .await?
            .map(|_| false))
    }

    /// Number of owners of a workspace.
    pub async fn owner_count(&self, workspace_id: &str) -> Result<i64, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1 AND role = 'owner'")
                .bind(workspace_id).fetch_one(p).await
        })
    }

    /// Creates or updates a grant; returns the stored row and whether it is new.
    pub async fn upsert_grant(&self, grant: &GrantRow) -> Result<(GrantRow, bool), sqlx::Error> {
        let updated = with_pool!(&self.pool, p => {
            sqlx::query("UPDATE agent_grants SET readonly = $4, expires_at = $5 WHERE workspace_id = $1 AND receiving_workspace_id = $2 AND agent_id = $3")
                .bind(&grant.workspace_id).bind(&grant.receiving_workspace_id).bind(&grant.agent_id)
                .bind(grant.readonly).bind(grant.expires_at).execute(p).await.map(|r| r.rows_affected())
        })?;
        let created = updated == 0;
        if created {
            with_pool!(&self.pool, p => {
                sqlx::query("INSERT INTO agent_grants (id, workspace_id, receiving_workspace_id, agent_id, readonly, expires_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&grant.id).bind(&grant.workspace_id).bind(&grant.receiving_workspace_id).bind(&grant.agent_id)
                    .bind(grant.readonly).bind(grant.expires_at).bind(&grant.created_by).bind(grant.created_at)
                    .execute(p).await.map(|r| r.rows_affected())
            })?;
        }
        let stored: GrantRow = with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT id, workspace_id, receiving_workspace_id, agent_id, readonly, expires_at, created_by, created_at FROM agent_grants WHERE workspace_id = $1 AND receiving_workspace_id = $2 AND agent_id = $3")
                .bind(&grant.workspace_id).bind(&grant.receiving_workspace_id).bind(&grant.agent_id)
                .fetch_one(p).await
        })?;
        Ok((stored, created))
    }

    /// Deletes a grant; false when there was none.
    pub async fn delete_grant(
        &self,
        workspace_id: &str,
        receiving: &str,
        agent_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.pool, p => {
            sqlx::query("DELETE FROM agent_grants WHERE workspace_id = $1 AND receiving_workspace_id = $2 AND agent_id = $3")
                .bind(workspace_id).bind(receiving).bind(agent_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Grants given by a workspace.
    pub async fn grants_of(&self, workspace_id: &str) -> Result<Vec<GrantRow>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT id, workspace_id, receiving_workspace_id, agent_id, readonly, expires_at, created_by, created_at FROM agent_grants WHERE workspace_id = $1 ORDER BY created_at, id")
                .bind(workspace_id).fetch_all(p).await
        })
    }

    /// An unexpired grant of `agent_id` to `receiving`, if any.
    pub async fn grant_for(
        &self,
        receiving: &str,
        agent_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<GrantRow>, sqlx::Error> {
        with_pool!(&self.pool, p => {
            sqlx::query_as("SELECT id, workspace_id, receiving_workspace_id, agent_id, readonly, expires_at, created_by, created_at FROM agent_grants WHERE receiving_workspace_id = $1 AND agent_id = $2 AND (expires_at IS NULL OR expires_at > $3) ORDER BY created_at LIMIT 1")
                .bind(receiving).bind(agent_id).bind(now).fetch_optional(p).await
        })
    }
}
