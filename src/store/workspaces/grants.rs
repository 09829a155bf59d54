//! Cross-workspace agent grants: offered by the granting workspace (`pending`), accepted
//! (`active`) or declined by the receiving one. Only active, unexpired grants resolve.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::super::Store;
use crate::with_pool;

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
    /// `pending|active|declined`.
    pub status: String,
    /// Who of the receiving workspace accepted or declined it.
    pub responded_by: Option<String>,
    /// When it was accepted or declined.
    pub responded_at: Option<DateTime<Utc>>,
}

/// Which side of a workspace's grants to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantDirection {
    /// Grants this workspace gave.
    Outgoing,
    /// Grants offered to this workspace.
    Incoming,
}

const COLUMNS: &str = "id, workspace_id, receiving_workspace_id, agent_id, readonly, expires_at, created_by, created_at, status, responded_by, responded_at";

/// Cross-workspace agent grants.
#[derive(Clone, Copy)]
pub struct Grants<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The grants aggregate.
    pub fn grants(&self) -> Grants<'_> {
        Grants(self)
    }
}

impl Grants<'_> {
    /// Offers a grant, or changes the terms of an existing one (same granting workspace,
    /// receiver and agent). A new grant is `pending`; a declined one is offered again
    /// (`pending`); a pending or active one keeps its status. Returns the stored row and
    /// whether it is new.
    pub async fn upsert_grant(self, grant: &GrantRow) -> Result<(GrantRow, bool), sqlx::Error> {
        // One statement (both engines speak this upsert), so concurrent offers cannot collide.
        let sql = format!(
            "INSERT INTO agent_grants ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', NULL, NULL) \
             ON CONFLICT (workspace_id, receiving_workspace_id, agent_id) DO UPDATE SET \
               readonly = excluded.readonly, expires_at = excluded.expires_at, \
               status = CASE WHEN agent_grants.status = 'declined' THEN 'pending' ELSE agent_grants.status END, \
               responded_by = CASE WHEN agent_grants.status = 'declined' THEN NULL ELSE agent_grants.responded_by END, \
               responded_at = CASE WHEN agent_grants.status = 'declined' THEN NULL ELSE agent_grants.responded_at END \
             RETURNING {COLUMNS}"
        );
        let stored: GrantRow = with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&grant.id).bind(&grant.workspace_id).bind(&grant.receiving_workspace_id).bind(&grant.agent_id)
                .bind(grant.readonly).bind(grant.expires_at).bind(&grant.created_by).bind(grant.created_at)
                .fetch_one(p).await
        })?;
        let created = stored.id == grant.id;
        Ok((stored, created))
    }

    /// Deletes a grant given by `workspace_id`; false when there was none.
    pub async fn delete_grant(
        self,
        workspace_id: &str,
        receiving: &str,
        agent_id: &str,
    ) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.0.pool, p => {
            sqlx::query("DELETE FROM agent_grants WHERE workspace_id = $1 AND receiving_workspace_id = $2 AND agent_id = $3")
                .bind(workspace_id).bind(receiving).bind(agent_id).execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Grants given by a workspace (every status), oldest first.
    pub async fn grants_of(self, workspace_id: &str) -> Result<Vec<GrantRow>, sqlx::Error> {
        self.grants_list(workspace_id, GrantDirection::Outgoing, None)
            .await
    }

    /// A workspace's outgoing or incoming grants, of one status when given, oldest first.
    pub async fn grants_list(
        self,
        workspace_id: &str,
        direction: GrantDirection,
        status: Option<&str>,
    ) -> Result<Vec<GrantRow>, sqlx::Error> {
        let side = match direction {
            GrantDirection::Outgoing => "workspace_id",
            GrantDirection::Incoming => "receiving_workspace_id",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_grants WHERE {side} = $1 AND ($2 IS NULL OR status = $2) ORDER BY created_at, id"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(status).fetch_all(p).await
        })
    }

    /// A grant offered to `receiving`, by id.
    pub async fn incoming_grant(
        self,
        receiving: &str,
        id: &str,
    ) -> Result<Option<GrantRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_grants WHERE id = $1 AND receiving_workspace_id = $2"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).bind(receiving).fetch_optional(p).await
        })
    }

    /// Moves a grant offered to `receiving` from status `from` to `to`, recording who and
    /// when; `None` when it is not (any more) in status `from`.
    pub async fn respond_grant(
        self,
        receiving: &str,
        id: &str,
        from: &str,
        to: &str,
        actor_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<GrantRow>, sqlx::Error> {
        let sql = format!(
            "UPDATE agent_grants SET status = $4, responded_by = $5, responded_at = $6 \
             WHERE id = $1 AND receiving_workspace_id = $2 AND status = $3 RETURNING {COLUMNS}"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id).bind(receiving).bind(from).bind(to).bind(actor_id).bind(now)
                .fetch_optional(p).await
        })
    }

    /// An active, unexpired grant of `agent_id` to `receiving`, if any (the oldest when
    /// several workspaces granted the same id). Pending and declined grants never resolve.
    pub async fn grant_for(
        self,
        receiving: &str,
        agent_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<GrantRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agent_grants WHERE receiving_workspace_id = $1 AND agent_id = $2 \
             AND status = 'active' AND (expires_at IS NULL OR expires_at > $3) ORDER BY created_at, id LIMIT 1"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(receiving).bind(agent_id).bind(now).fetch_optional(p).await
        })
    }
}
