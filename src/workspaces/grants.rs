//! Grant rules. A workspace's owners/admins offer one of its agents to another workspace; the
//! offer is `pending` until an owner/admin of the RECEIVING workspace accepts it (`active`)
//! or declines it. Only active, unexpired grants resolve (see `agents::resolve_agent`), and
//! even then after the workspace's own agents and the global ones.

use chrono::{DateTime, Utc};

use crate::{
    error::{ApiError, ApiResult},
    store::{GrantDirection, GrantRow, Store, ids::new_id},
    validate::Problems,
};

/// A grant's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// Offered, not yet answered: no effect.
    Pending,
    /// Accepted by the receiving workspace: resolves until it expires or is revoked.
    Active,
    /// Refused (or withdrawn) by the receiving workspace: no effect.
    Declined,
}

impl GrantStatus {
    /// Parses `pending|active|declined`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "declined" => Some(Self::Declined),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Declined => "declined",
        }
    }
}

/// The receiving workspace's answer to a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantAnswer {
    /// pending → active.
    Accept,
    /// pending or active → declined.
    Decline,
}

/// Offers `agent_id` of `workspace_id` to another workspace (pending until accepted), or
/// changes the terms of an existing offer; returns the grant and whether it is new.
pub async fn grant(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
    receiving: &str,
    agent_id: &str,
    readonly: bool,
    expires_at: Option<DateTime<Utc>>,
) -> ApiResult<(GrantRow, bool)> {
    let mut problems = Problems::new();
    problems.check(
        receiving == workspace_id,
        "receivingWorkspaceId",
        "must be another workspace",
    );
    problems.check(
        agent_id.trim().is_empty() || agent_id.len() > 64,
        "agentId",
        "must be 1-64 characters",
    );
    problems.check(
        expires_at.is_some_and(|t| t <= Utc::now()),
        "expiresAt",
        "must be in the future",
    );
    problems.finish()?;
    store
        .workspaces()
        .workspace(receiving)
        .await?
        .ok_or_else(|| ApiError::not_found("Receiving workspace"))?;
    let row = GrantRow {
        id: new_id("grt"),
        workspace_id: workspace_id.to_string(),
        receiving_workspace_id: receiving.to_string(),
        agent_id: agent_id.to_string(),
        readonly,
        expires_at,
        created_by: actor_id.to_string(),
        created_at: Utc::now(),
        status: GrantStatus::Pending.as_str().to_string(),
        responded_by: None,
        responded_at: None,
    };
    let result = store.grants().upsert_grant(&row).await?;
    store
        .users()
        .audit(
            actor_id,
            Some(workspace_id),
            "grant.create",
            Some(agent_id),
            serde_json::json!({"receivingWorkspaceId": receiving, "status": result.0.status}),
        )
        .await?;
    Ok(result)
}

/// A workspace's grants on one side, optionally of one status.
pub async fn list(
    store: &Store,
    workspace_id: &str,
    direction: GrantDirection,
    status: Option<GrantStatus>,
) -> ApiResult<Vec<GrantRow>> {
    Ok(store
        .grants()
        .grants_list(workspace_id, direction, status.map(GrantStatus::as_str))
        .await?)
}

/// Accepts or declines grant `grant_id` offered to `receiving` (the caller must manage
/// `receiving`; checked by the caller). Unknown (or offered to another workspace) 404;
/// accepting anything but a pending, unexpired grant 409; declining an already declined one
/// 409 (declining an active grant withdraws the receiving workspace's consent).
pub async fn respond(
    store: &Store,
    receiving: &str,
    actor_id: &str,
    grant_id: &str,
    answer: GrantAnswer,
) -> ApiResult<GrantRow> {
    let now = Utc::now();
    let grant = store
        .grants()
        .incoming_grant(receiving, grant_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Grant"))?;
    let from = GrantStatus::parse(&grant.status)
        .ok_or_else(|| anyhow::anyhow!("stored grant status {:?}", grant.status))?;
    let to = match (answer, from) {
        (GrantAnswer::Accept, GrantStatus::Pending) => {
            if grant.expires_at.is_some_and(|t| t <= now) {
                return Err(ApiError::Conflict("The grant has expired".into()));
            }
            GrantStatus::Active
        }
        (GrantAnswer::Decline, GrantStatus::Pending | GrantStatus::Active) => GrantStatus::Declined,
        (_, from) => {
            return Err(ApiError::Conflict(format!(
                "The grant is {}, not pending",
                from.as_str()
            )));
        }
    };
    let row = store
        .grants()
        .respond_grant(
            receiving,
            grant_id,
            from.as_str(),
            to.as_str(),
            actor_id,
            now,
        )
        .await?
        .ok_or_else(|| ApiError::Conflict("The grant changed meanwhile; reload it".into()))?;
    let action = match answer {
        GrantAnswer::Accept => "grant.accept",
        GrantAnswer::Decline => "grant.decline",
    };
    store
        .users()
        .audit(
            actor_id,
            Some(receiving),
            action,
            Some(&row.agent_id),
            serde_json::json!({"grantId": row.id, "grantingWorkspaceId": row.workspace_id}),
        )
        .await?;
    Ok(row)
}

/// Revokes the grant of `agent_id` from `workspace_id` to `receiving`, whatever its status
/// (the caller must manage `workspace_id`; checked by the caller), and records it in the
/// audit log; 404 when there is no such grant.
pub async fn revoke(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
    receiving: &str,
    agent_id: &str,
) -> ApiResult<()> {
    if !store
        .grants()
        .delete_grant(workspace_id, receiving, agent_id)
        .await?
    {
        return Err(ApiError::not_found("Grant"));
    }
    store
        .users()
        .audit(
            actor_id,
            Some(workspace_id),
            "grant.revoke",
            Some(agent_id),
            serde_json::json!({"receivingWorkspaceId": receiving}),
        )
        .await?;
    Ok(())
}
