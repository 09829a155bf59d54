//! Onboarding runs: at most one per user, recorded with the workspace it created.

use chrono::{DateTime, Utc};

use super::{
    AgentDoc, BeginWrite, Store, WorkspaceRow, agents::insert_agent_tx, is_unique_violation,
};
use crate::with_pool;

/// Onboarding runs.
#[derive(Clone, Copy)]
pub struct Onboarding<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The onboarding aggregate.
    pub fn onboarding(&self) -> Onboarding<'_> {
        Onboarding(self)
    }
}

impl Onboarding<'_> {
    /// The workspace created by the user's onboarding, if it ran.
    pub async fn onboarded_workspace(self, user_id: &str) -> Result<Option<String>, sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT workspace_id FROM onboarding_runs WHERE user_id = $1")
                .bind(user_id).fetch_optional(p).await
        })
    }

    /// In one transaction: records the run, creates the workspace with its owner and seeds
    /// the agents. Returns false, changing nothing, when the user was already onboarded
    /// (the run row's primary key stops a concurrent second call).
    pub async fn onboard(
        self,
        ws: &WorkspaceRow,
        agents: &[AgentDoc],
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        // An async block, so `?` lands in `result` and a unique violation can be told apart.
        let result: Result<(), sqlx::Error> = with_pool!(&self.0.pool, p => async {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO workspaces (id, name, owner_id, plan, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&ws.id).bind(&ws.name).bind(&ws.owner_id).bind(&ws.plan)
                .bind(&ws.settings).bind(ws.created_at).bind(ws.updated_at)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO onboarding_runs (user_id, workspace_id, created_at) VALUES ($1, $2, $3)")
                .bind(&ws.owner_id).bind(&ws.id).bind(now)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)")
                .bind(&ws.id).bind(&ws.owner_id).bind(ws.created_at)
                .execute(&mut *tx).await?;
            for doc in agents {
                insert_agent_tx!(tx, &ws.id, doc, &ws.owner_id, now);
            }
            tx.commit().await
        }.await);
        match result {
            Ok(()) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
