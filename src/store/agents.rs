//! Workspace agents and their version history.
//!
//! The live config is one JSON column; every create and update also writes a snapshot to
//! `agent_versions` in the same transaction, so the history can never miss a state.
//! `memory_profile_id` mirrors the config's field so assignments can be found and protected
//! by a foreign key.
//!
//! The config is a plain JSON document here: `agents` decodes and validates it (the store
//! knows no domain types), and hands writes over as an [`AgentDoc`].

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, types::Json};

use super::{BeginWrite, Store};
use crate::with_pool;

/// An agent configuration as written: the JSON document and the two fields the store
/// mirrors in columns (the key, and the memory profile its foreign key protects).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentDoc {
    /// Agent id (`config.id`).
    pub id: String,
    /// Assigned memory profile (`config.memoryProfileId`).
    pub memory_profile_id: Option<String>,
    /// The whole configuration.
    pub config: Value,
}

/// A stored workspace agent.
#[derive(Debug, Clone, FromRow)]
pub struct AgentRow {
    /// Owning workspace.
    pub workspace_id: String,
    /// Agent id.
    pub id: String,
    /// Live configuration (decoded by `agents`).
    pub config: Json<Value>,
    /// Current version number (1 on create).
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// One snapshot of an agent's configuration.
#[derive(Debug, Clone, FromRow)]
pub struct AgentVersionRow {
    /// Owning workspace.
    pub workspace_id: String,
    /// Agent id.
    pub agent_id: String,
    /// 1, 2, … per agent.
    pub version: i64,
    /// The configuration as saved (decoded by `agents`).
    pub config: Json<Value>,
    /// Free-form label.
    pub label: Option<String>,
    /// Who saved it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const AGENT_COLUMNS: &str = "workspace_id, id, config, version, created_by, created_at, updated_at";
const VERSION_COLUMNS: &str =
    "workspace_id, agent_id, version, config, label, created_by, created_at";

/// Inserts a new agent (an [`AgentDoc`]) at version 1 and its first snapshot, on an open
/// transaction.
macro_rules! insert_agent_tx {
    ($tx:expr, $ws:expr, $doc:expr, $actor:expr, $now:expr) => {{
        let doc: &$crate::store::AgentDoc = $doc;
        let config = sqlx::types::Json(&doc.config);
        sqlx::query("INSERT INTO agents (workspace_id, id, config, version, memory_profile_id, created_by, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $6, $6)")
            .bind($ws).bind(doc.id.as_str()).bind(&config).bind(&doc.memory_profile_id)
            .bind($actor).bind($now).execute(&mut *$tx).await?;
        sqlx::query("INSERT INTO agent_versions (workspace_id, agent_id, version, config, label, created_by, created_at) VALUES ($1, $2, 1, $3, NULL, $4, $5)")
            .bind($ws).bind(doc.id.as_str()).bind(&config).bind($actor).bind($now)
            .execute(&mut *$tx).await?;
    }};
}

/// Replaces an agent's config (an [`AgentDoc`]), bumps its version and snapshots it, on an
/// open transaction; evaluates to the new version, or `None` when the agent does not exist.
macro_rules! update_agent_tx {
    ($tx:expr, $ws:expr, $doc:expr, $actor:expr, $now:expr) => {{
        let doc: &$crate::store::AgentDoc = $doc;
        let config = sqlx::types::Json(&doc.config);
        let version: Option<i64> = sqlx::query_scalar("UPDATE agents SET config = $3, memory_profile_id = $4, version = version + 1, updated_at = $5 WHERE workspace_id = $1 AND id = $2 RETURNING version")
            .bind($ws).bind(doc.id.as_str()).bind(&config).bind(&doc.memory_profile_id).bind($now)
            .fetch_optional(&mut *$tx).await?;
        if let Some(version) = version {
            sqlx::query("INSERT INTO agent_versions (workspace_id, agent_id, version, config, label, created_by, created_at) VALUES ($1, $2, $3, $4, NULL, $5, $6)")
                .bind($ws).bind(doc.id.as_str()).bind(version).bind(&config).bind($actor).bind($now)
                .execute(&mut *$tx).await?;
        }
        version
    }};
}
pub(crate) use {insert_agent_tx, update_agent_tx};

/// Workspace agents and their version history.
#[derive(Clone, Copy)]
pub struct Agents<'a>(pub(in crate::store) &'a Store);

impl Store {
    /// The agents aggregate.
    pub fn agents(&self) -> Agents<'_> {
        Agents(self)
    }
}

impl Agents<'_> {
    /// Creates an agent (version 1); a duplicate id surfaces as a unique violation.
    pub async fn insert_agent(
        self,
        workspace_id: &str,
        doc: &AgentDoc,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            insert_agent_tx!(tx, workspace_id, doc, actor, now);
            tx.commit().await
        })
    }

    /// Replaces an agent's config as a new version; `None` when there is no such agent.
    pub async fn update_agent(
        self,
        workspace_id: &str,
        doc: &AgentDoc,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AgentRow>, sqlx::Error> {
        let version = with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            let version = update_agent_tx!(tx, workspace_id, doc, actor, now);
            tx.commit().await?;
            version
        });
        self.forget_agents(workspace_id);
        match version {
            Some(_) => self.agent(workspace_id, &doc.id).await,
            None => Ok(None),
        }
    }

    /// A workspace's agent.
    pub async fn agent(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<AgentRow>, sqlx::Error> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE workspace_id = $1 AND id = $2");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(workspace_id).bind(id).fetch_optional(p).await
        })
    }

    /// A workspace's agent, possibly up to a few seconds old (turn resolution only).
    pub async fn agent_cached(
        self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<AgentRow>, sqlx::Error> {
        let key = (workspace_id.to_string(), id.to_string());
        if let Some(row) = self.0.cache.agents.get(&key) {
            return Ok(Some(row));
        }
        let row = self.agent(workspace_id, id).await?;
        if let Some(row) = &row {
            self.0.cache.agents.put(key, row.clone());
        }
        Ok(row)
    }

    /// Drops cached agents of a workspace (after any write to its agents).
    pub(crate) fn forget_agents(self, workspace_id: &str) {
        self.0
            .cache
            .agents
            .forget_where(|(ws, _)| ws == workspace_id);
        self.0.publish(super::Invalidation::Agents {
            ws: workspace_id.to_string(),
        });
    }

    /// All agents of a workspace, by id (workspaces hold few agents; lists merge them with
    /// the global ones before paginating).
    pub async fn agents_of(self, workspace_id: &str) -> Result<Vec<AgentRow>, sqlx::Error> {
        let sql = format!("SELECT {AGENT_COLUMNS} FROM agents WHERE workspace_id = $1 ORDER BY id");
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(workspace_id).fetch_all(p).await
        })
    }

    /// Deletes an agent and its history; false when there was none.
    pub async fn delete_agent(self, workspace_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.0.pool, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("DELETE FROM agent_versions WHERE workspace_id = $1 AND agent_id = $2")
                .bind(workspace_id).bind(id).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM agents WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id).bind(id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            done
        });
        self.forget_agents(workspace_id);
        Ok(done > 0)
    }

    /// True when an agent with this id exists in a workspace other than `except`.
    pub async fn agent_exists_elsewhere(self, id: &str, except: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i32> = with_pool!(&self.0.pool, p => {
            sqlx::query_scalar("SELECT 1 FROM agents WHERE id = $1 AND workspace_id <> $2 LIMIT 1")
                .bind(id).bind(except).fetch_optional(p).await
        })?;
        Ok(found.is_some())
    }

    /// An agent's versions, newest first, paginated; plus the total.
    pub async fn agent_versions(
        self,
        workspace_id: &str,
        id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AgentVersionRow>, i64), sqlx::Error> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM agent_versions WHERE workspace_id = $1 AND agent_id = $2 \
             ORDER BY version DESC LIMIT $3 OFFSET $4"
        );
        with_pool!(&self.0.pool, p => {
            let rows = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(id).bind(limit).bind(offset).fetch_all(p).await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM agent_versions WHERE workspace_id = $1 AND agent_id = $2")
                .bind(workspace_id).bind(id).fetch_one(p).await?;
            Ok((rows, total))
        })
    }

    /// One version of an agent.
    pub async fn agent_version(
        self,
        workspace_id: &str,
        id: &str,
        version: i64,
    ) -> Result<Option<AgentVersionRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM agent_versions WHERE workspace_id = $1 AND agent_id = $2 AND version = $3"
        );
        with_pool!(&self.0.pool, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(workspace_id).bind(id).bind(version).fetch_optional(p).await
        })
    }

    /// Sets or clears a version's label; false when there is no such version.
    pub async fn label_agent_version(
        self,
        workspace_id: &str,
        id: &str,
        version: i64,
        label: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let done = with_pool!(&self.0.pool, p => {
            sqlx::query("UPDATE agent_versions SET label = $4 WHERE workspace_id = $1 AND agent_id = $2 AND version = $3")
                .bind(workspace_id).bind(id).bind(version).bind(label)
                .execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }
}
