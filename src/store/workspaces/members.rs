//! Membership changes (role changes, additions, removals) in one write transaction that
//! re-reads the actor's role, the target's role and the owner count and is serialised per
//! workspace, so concurrent changes cannot leave a workspace without an owner nor act on
//! roles that changed meanwhile. Cached roles are dropped after the commit.

use chrono::{DateTime, Utc};

use super::{
    super::{BeginWrite, Pool},
    Workspaces,
};
use crate::with_pool;

/// What a membership change sees inside its transaction.
#[derive(Debug, Clone)]
pub struct MembershipSnapshot {
    /// The acting user's current role (`None`: no longer a member).
    pub actor_role: Option<String>,
    /// The target's current role (`None`: not a member).
    pub target_role: Option<String>,
    /// Owners of the workspace right now.
    pub owners: i64,
}

/// The write a membership change decided on.
#[derive(Debug, Clone, Copy)]
pub enum MemberWrite {
    /// Give the target this role (adding them when they are not a member).
    SetRole(&'static str),
    /// Remove the target.
    Remove,
}

impl Workspaces<'_> {
    /// Runs `decide` on a fresh [`MembershipSnapshot`] and applies the write it returns, in one
    /// transaction that holds the workspace's write lock (PostgreSQL: the workspace row
    /// `FOR NO KEY UPDATE`, which serialises membership changes without blocking inserts that
    /// merely reference the workspace; SQLite: `BEGIN IMMEDIATE`). Returns `Ok(Err(e))` when `decide` refused,
    /// else `Ok(Ok(created))` (true when a new member was added).
    pub async fn change_membership<E>(
        self,
        workspace_id: &str,
        actor_id: &str,
        target_id: &str,
        now: DateTime<Utc>,
        decide: impl FnOnce(&MembershipSnapshot) -> Result<MemberWrite, E>,
    ) -> Result<Result<bool, E>, sqlx::Error> {
        let lock = match self.0.pool {
            Pool::Postgres(_) => Some("SELECT id FROM workspaces WHERE id = $1 FOR NO KEY UPDATE"),
            Pool::Sqlite(_) => None,
        };
        let role_sql =
            "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2";
        let outcome = with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            if let Some(sql) = lock {
                sqlx::query(sql).bind(workspace_id).execute(&mut *tx).await?;
            }
            let actor_role: Option<String> = sqlx::query_scalar(role_sql)
                .bind(workspace_id).bind(actor_id).fetch_optional(&mut *tx).await?;
            let target_role: Option<String> = sqlx::query_scalar(role_sql)
                .bind(workspace_id).bind(target_id).fetch_optional(&mut *tx).await?;
            let owners: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspace_members WHERE workspace_id = $1 AND role = 'owner'")
                .bind(workspace_id).fetch_one(&mut *tx).await?;
            let snapshot = MembershipSnapshot { actor_role, target_role, owners };
            match decide(&snapshot) {
                Err(e) => {
                    tx.rollback().await?;
                    Err(e)
                }
                Ok(write) => {
                    let created = match (write, &snapshot.target_role) {
                        (MemberWrite::SetRole(role), Some(_)) => {
                            sqlx::query("UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2")
                                .bind(workspace_id).bind(target_id).bind(role).execute(&mut *tx).await?;
                            false
                        }
                        (MemberWrite::SetRole(role), None) => {
                            sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                                .bind(workspace_id).bind(target_id).bind(role).bind(now).execute(&mut *tx).await?;
                            true
                        }
                        (MemberWrite::Remove, _) => {
                            sqlx::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
                                .bind(workspace_id).bind(target_id).execute(&mut *tx).await?;
                            false
                        }
                    };
                    tx.commit().await?;
                    Ok(created)
                }
            }
        });
        // After the commit: a request that read the old role before it is refused by the
        // cache's ticket, and every later one reads the new role.
        self.forget_roles(workspace_id, Some(target_id));
        Ok(outcome)
    }
}
