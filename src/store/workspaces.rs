//! Workspaces, their members and cross-workspace agent grants.

mod grants;
mod members;

pub use grants::{GrantDirection, GrantRow, Grants};
pub use members::{MemberWrite, MembershipSnapshot};

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

const WS_COLUMNS: &str = "w.id, w.name, w.owner_id, w.plan, w.settings, w.allowed_providers, w.allowed_models, w.created_at, w.updated_at";

/// Workspaces, their members and membership changes.
#[derive(Clone, Copy)]
pub struct Workspaces<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The workspaces aggregate.
    pub fn workspaces(&self) -> Workspaces<'_> {
        Workspaces(self)
    }
}

impl Workspaces<'_> {
    /// Creates a workspace with its creator as owner, atomically.
    pub async fn create_workspace(self, ws: &WorkspaceRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
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
    pub async fn workspace(self, id: &str) -> Result<Option<WorkspaceRow>, sqlx::Error> {
        let sql = format!("SELECT {WS_COLUMNS} FROM workspaces w WHERE w.id = $1");
        with_pool!(&self.0.pool, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)
    }

    /// A workspace, possibly up to a few seconds old when another replica changed it (chat
    /// turns; never for read-modify-write). Changes made through this store show at once.
    pub async fn workspace_cached(self, id: &str) -> Result<Option<WorkspaceRow>, sqlx::Error> {
        if let Some(row) = self.0.cache.workspaces.get(&id.to_string()) {
            return Ok(Some(row));
        }
        let ticket = self.0.cache.workspaces.ticket();
        let row = self.workspace(id).await?;
        if let Some(row) = &row {
            self.0
                .cache
                .workspaces
                .put_if_unchanged(id.to_string(), row.clone(), ticket);
        }
        Ok(row)
    }

    /// The caller's role (request admission). A change committed through this store (any
    /// replica's own writes) shows on the next request; another replica's change within
    /// [`super::cache::TTL`].
    pub async fn member_role_cached(
        self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let key = (workspace_id.to_string(), user_id.to_string());
        if let Some(role) = self.0.cache.roles.get(&key) {
            return Ok(Some(role));
        }
        // Taken before the query: a change that commits meanwhile invalidates after its
        // commit, and then this (possibly older) answer is not cached.
        let ticket = self.0.cache.roles.ticket();
        let role = self.member_role(workspace_id, user_id).await?;
        if let Some(role) = &role {
            self.0
                .cache
                .roles
                .put_if_unchanged(key, role.clone(), ticket);
        }
        Ok(role)
    }

    /// Drops cached roles of one workspace (all of its members when `user_id` is `None`).
    /// Called after the change committed.
    pub(crate) fn forget_roles(self, workspace_id: &str, user_id: Option<&str>) {
        self.0
            .cache
            .roles
            .forget_where(|(ws, u)| ws == workspace_id && user_id.is_none_or(|id| id == u));
        self.0.publish(super::Invalidation::Roles {
            ws: workspace_id.to_string(),
            user: user_id.map(str::to_string),
        });
    }

    /// The caller's workspaces with their role, oldest first, paginated; plus the total.
    pub async fn workspaces_of(
        self,
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
        let (rows, total): (Vec<Joined>, i64) = with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(user_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE user_id = $1")
                .bind(user_id).fetch_one(p).await?;
            (rows, total)
        });
        Ok((rows.into_iter().map(|j| (j.ws, j.role)).collect(), total))
    }

    /// The oldest workspace the user belongs to (used when no `X-Workspace-Id` is sent).
    pub async fn first_workspace_of(
        self,
        user_id: &str,
    ) -> Result<Option<(String, String)>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT workspace_id, role FROM workspace_members WHERE user_id = $1 ORDER BY created_at, workspace_id LIMIT 1")
                .bind(user_id).fetch_optional(p).await
        })
    }

    /// The caller's role in a workspace, if a member.
    pub async fn member_role(
        self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
                .bind(workspace_id).bind(user_id).fetch_optional(p).await
        })
    }

    /// Saves name, plan and settings.
    pub async fn update_workspace(self, ws: &WorkspaceRow) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE workspaces SET name = $2, plan = $3, settings = $4, allowed_providers = $5, allowed_models = $6, updated_at = $7 WHERE id = $1")
                .bind(&ws.id).bind(&ws.name).bind(&ws.plan).bind(&ws.settings)
                .bind(&ws.allowed_providers).bind(&ws.allowed_models).bind(ws.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        let id = ws.id.clone();
        self.0.cache.workspaces.forget_where(|k| *k == id);
        self.0.publish(super::Invalidation::Workspace { ws: id });
        Ok(())
    }

    /// One member with email.
    pub async fn member(
        self,
        workspace_id: &str,
        user_id: &str,
    ) -> Result<Option<MemberRow>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_as("SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.user_id = $2")
                .bind(workspace_id).bind(user_id).fetch_optional(p).await
        })
    }

    /// One page of a workspace's members (email from their account), oldest member first,
    /// plus the total.
    pub async fn members(
        self,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<MemberRow>, i64), sqlx::Error> {
        let page = with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as("SELECT m.workspace_id, m.user_id, u.email, m.role, m.created_at FROM workspace_members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 ORDER BY m.created_at, m.user_id LIMIT $2 OFFSET $3")
                .bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            (rows, total)
        });
        Ok(page)
    }
}
