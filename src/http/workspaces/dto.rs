//! Request and response bodies of the workspaces group (members and grants keep theirs next
//! to their handlers).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::{
    error::{ApiError, ApiResult},
    store::WorkspaceRow,
    workspaces::{Role, WorkspaceUsage},
};

/// New workspace.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWorkspaceIn {
    /// 1–100 characters.
    pub name: String,
    /// Plan name (default `free`).
    pub plan: Option<String>,
}

/// A workspace as the caller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceOut {
    /// `ws_…`
    pub id: String,
    /// Name.
    pub name: String,
    /// Creator.
    pub owner_id: String,
    /// Plan.
    pub plan: String,
    /// Settings object (the workspace's own keys).
    #[schema(value_type = Object)]
    pub settings: Value,
    /// Allowed providers (`null` = any).
    pub allowed_providers: Option<Vec<String>>,
    /// Allowed models (`null` = any).
    pub allowed_models: Option<Vec<String>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The caller's role (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The caller's role (in detail views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub your_role: Option<String>,
}

impl WorkspaceOut {
    /// The workspace with the caller's role as a list item (`role`) and/or a detail (`yourRole`).
    pub fn new(ws: WorkspaceRow, role: Option<Role>, your_role: Option<Role>) -> Self {
        Self {
            id: ws.id,
            name: ws.name,
            owner_id: ws.owner_id,
            plan: ws.plan,
            settings: ws.settings.0,
            allowed_providers: ws.allowed_providers.map(|j| j.0),
            allowed_models: ws.allowed_models.map(|j| j.0),
            created_at: ws.created_at,
            updated_at: ws.updated_at,
            role: role.map(|r| r.as_str().to_string()),
            your_role: your_role.map(|r| r.as_str().to_string()),
        }
    }
}

/// Settings update: any of name, plan and settings.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateSettingsIn {
    /// New name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<String>,
    /// Keys to set (shallow merge; `null` removes a key).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Map<String, Value>>,
}

/// `?days=` for stats.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// 1–365 (default 30).
    pub days: Option<i64>,
}

/// Token totals of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenTotalsOut {
    /// Prompt tokens.
    pub prompt: i64,
    /// Completion tokens.
    pub completion: i64,
    /// Both.
    pub total: i64,
}

/// One agent's usage in the period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentUsageOut {
    /// The agent.
    pub agent_id: String,
    /// Billed requests.
    pub requests: i64,
    /// Prompt + completion tokens.
    pub tokens: i64,
    /// Cost in USD.
    pub cost_usd: f64,
}

/// Usage dashboard of a workspace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceStatsOut {
    /// The workspace.
    pub workspace_id: String,
    /// The window asked for.
    pub days: i64,
    /// Start of the window.
    pub since: DateTime<Utc>,
    /// Current members.
    pub members: i64,
    /// Sessions created in the window.
    pub sessions: i64,
    /// Messages written in the window.
    pub messages: i64,
    /// Tokens billed in the window.
    pub tokens: TokenTotalsOut,
    /// Cost in USD.
    pub cost_usd: f64,
    /// Per agent, busiest first.
    pub by_agent: Vec<AgentUsageOut>,
}

impl WorkspaceStatsOut {
    /// The dashboard of `usage`; fails only if the store's per-agent rows lost their shape.
    pub fn new(usage: WorkspaceUsage) -> ApiResult<Self> {
        let s = usage.stats;
        let by_agent = serde_json::from_value(Value::Array(s.by_agent))
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(Self {
            workspace_id: usage.workspace_id,
            days: usage.days,
            since: usage.since,
            members: s.members,
            sessions: s.sessions,
            messages: s.messages,
            tokens: TokenTotalsOut {
                prompt: s.prompt_tokens,
                completion: s.completion_tokens,
                total: s.prompt_tokens + s.completion_tokens,
            },
            cost_usd: s.cost_usd,
            by_agent,
        })
    }
}

/// Allowed providers and models (`null` = any).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestrictionsIn {
    /// Provider ids agents may use.
    pub allowed_providers: Option<Vec<String>>,
    /// Model ids agents may use.
    pub allowed_models: Option<Vec<String>>,
}
