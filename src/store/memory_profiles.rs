//! Memory profiles of a workspace and their assignment to agents.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{AgentDoc, BeginWrite, Store, agents::update_agent_tx};
use crate::with_pool;

/// A stored memory profile.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct MemoryProfileRow {
    /// `mp_…`
    pub id: String,
    /// Owning workspace.
    pub workspace_id: String,
    /// Unique per workspace.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Session tier on.
    pub tier_session: bool,
    /// Daily tier on.
    pub tier_daily: bool,
    /// Profile tier on.
    pub tier_profile: bool,
    /// Notes tier on.
    pub tier_notes: bool,
    /// Memories expire after this many days; `None` = never.
    pub ttl_days: Option<i64>,
    /// Most memory chunks put into the context.
    pub max_context_chunks: i64,
    /// Chunks scoring below this (0–1) are left out.
    pub min_relevance_score: f64,
    /// Appended to the system prompt of agents using the profile.
    pub system_prompt_suffix: String,
    /// Creator.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a delete did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileDeletion {
    /// Gone (with the agents whose assignment was cleared).
    Deleted(Vec<String>),
    /// Refused: these agents use it and `force` was not given.
    InUse(Vec<String>),
    /// No such profile.
    NotFound,
}

const COLUMNS: &str = "id, workspace_id, name, description, tier_session, tier_daily, tier_profile, tier_notes, ttl_days, max_context_chunks, min_relevance_score, system_prompt_suffix, created_by, created_at, updated_at";

/// Memory profiles of a workspace and their assignment to agents.
#[derive(Clone, Copy)]
pub struct MemoryProfiles<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The memory profiles aggregate.
    pub fn memory_profiles(&self) -> MemoryProfiles<'_> {
        MemoryProfiles(self)
    }
}

impl MemoryProfiles<'_> {
    /// Inserts a profile; a duplicate name surfaces as a unique violation.
    pub async fn insert_memory_profile(self, m: &MemoryProfileRow) -> Result<(), sqlx::Error> {
        let sql = format!(
            "INSERT INTO memory_profiles ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&m.id).bind(&m.workspace_id).bind(&m.name).bind(&m.description)
                .bind(m.tier_session).bind(m.tier_daily).bind(m.tier_profile).bind(m.tier_notes)
                .bind(m.ttl_days).bind(m.max_context_chunks).bind(m.min_relevance_score)
                .bind(&m.system_prompt_suffix).bind(&m.created_by).bind(m.created_at).bind(m.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Saves every editable field; false when there is no such profile.
    pub async fn update_memory_profile(self, m: &MemoryProfileRow) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE memory_profiles SET name = $3, description = $4, tier_session = $5, tier_daily = $6, tier_profile = $7, tier_notes = $8, ttl_days = $9, max_context_chunks = $10, min_relevance_score = $11, system_prompt_suffix = $12, updated_at = $13 WHERE workspace_id = $1 AND id = $2")
                .bind(&m.workspace_id).bind(&m.id).bind(&m.name).bind(&m.description)
                .bind(m.tier_session).bind(m.tier_daily).bind(m.tier_profile).bind(m.tier_notes)
                .bind(m.ttl_days).bind(m.max_context_chunks).bind(m.min_relevance_score)
                .bind(&m.system_prompt_suffix).bind(m.updated_at)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// A profile of a workspace.
    pub async fn memory_profile(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<MemoryProfileRow>, sqlx::Error> {
        let sql =
            format!("SELECT {COLUMNS} FROM memory_profiles WHERE workspace_id = $1 AND id = $2");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(workspace_id).bind(id).fetch_optional(p).await
        })
    }

    /// A workspace's profiles, oldest first, paginated; plus the total.
    pub async fn memory_profiles(
        self,
        workspace_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<MemoryProfileRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM memory_profiles WHERE workspace_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM memory_profiles WHERE workspace_id = $1")
                .bind(workspace_id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// Deletes a profile. Without `force`, a profile assigned to agents is refused; with it,
    /// each assignment is cleared as a new agent version first: `unassign` turns a stored
    /// config into the one without the profile (the domain's rule; its error is a decode
    /// error). One transaction, and the foreign key refuses the delete should an assignment
    /// slip in concurrently.
    pub async fn delete_memory_profile<F>(
        self,
        workspace_id: &str,
        id: &str,
        force: bool,
        actor: &str,
        now: DateTime<Utc>,
        unassign: F,
    ) -> Result<ProfileDeletion, sqlx::Error>
    where
        F: Fn(Value) -> Result<AgentDoc, serde_json::Error>,
    {
        // Forced deletion rewrites agents of the workspace.
        self.0.agents().forget_agents(workspace_id);
        let result = with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let users: Vec<(String, Json<Value>)> = sqlx::query_as(
                "SELECT id, config FROM agents WHERE workspace_id = $1 AND memory_profile_id = $2 ORDER BY id")
                .bind(workspace_id).bind(id).fetch_all(&mut *tx).await?;
            let names: Vec<String> = users.iter().map(|(a, _)| a.clone()).collect();
            if !users.is_empty() && !force {
                return Ok(ProfileDeletion::InUse(names));
            }
            for (_, Json(config)) in users {
                let doc = unassign(config).map_err(|e| sqlx::Error::Decode(e.into()))?;
                update_agent_tx!(tx, workspace_id, &doc, actor, now);
            }
            let done = sqlx::query("DELETE FROM memory_profiles WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id).bind(id).execute(&mut *tx).await?.rows_affected();
            if done == 0 {
                return Ok(ProfileDeletion::NotFound);
            }
            tx.commit().await?;
            Ok(ProfileDeletion::Deleted(names))
        });
        self.0.agents().forget_agents(workspace_id);
        result
    }
}
