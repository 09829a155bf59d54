//! Route group 10, registry part: `GET /skills`, `/skills/{id}`, `/skills/{id}/metrics` —
//! public, so they expose skill definitions and aggregates only, never who called what.

use axum::{Json, extract::State, http::HeaderMap, response::Response};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{agents::cache, error_schema::ErrorOut, extract::ApiPath};
use crate::{
    app::AppState,
    error::{ApiError, ApiResult},
    skills::Skill,
};

/// Days covered by `/skills/{id}/metrics`.
const METRICS_DAYS: i64 = 30;

/// Routes of the skills registry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_skills))
        .routes(routes!(get_skill))
        .routes(routes!(skill_metrics))
}

/// A skill in the list (its instructions are in the detail view).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillSummary {
    /// Id agents refer to.
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Grouping.
    pub category: String,
    /// What it lets an agent do.
    pub description: String,
    /// Tool names it brings.
    pub tools: Vec<String>,
    /// Defined in code (else in `astra.yml`).
    pub builtin: bool,
}

impl From<&Skill> for SkillSummary {
    fn from(s: &Skill) -> Self {
        Self {
            id: s.id.clone(),
            display_name: s.display_name.clone(),
            category: s.category.clone(),
            description: s.description.clone(),
            tools: s.tools.clone(),
            builtin: s.builtin,
        }
    }
}

/// List every registered skill (`ETag`, `Cache-Control: public, max-age=60`, 304).
#[utoipa::path(get, path = "/skills", tag = "skills",
    responses((status = 200, body = SkillListOut), (status = 304)))]
async fn list_skills(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let items: Vec<SkillSummary> = state.skills.list().iter().map(Into::into).collect();
    let body = SkillListOut {
        total: items.len(),
        items,
    };
    cache::cached_json(&headers, &body, cache::PUBLIC_60S)
}

/// Every registered skill.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkillListOut {
    /// Number of skills.
    pub total: usize,
    /// The skills, in registry order.
    pub items: Vec<SkillSummary>,
}

/// A tool of a skill.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillToolOut {
    /// Tool name.
    pub name: String,
    /// What the tool does.
    pub description: String,
    /// JSON schema of its arguments.
    #[schema(value_type = Object)]
    pub parameters: serde_json::Value,
    /// Identical calls may be answered from the cache.
    pub cacheable: bool,
    /// Whether models are offered the tool on this gateway now.
    pub available: bool,
}

/// A skill with its instructions and tools.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillDetail {
    /// Id agents refer to.
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Grouping.
    pub category: String,
    /// What it lets an agent do.
    pub description: String,
    /// Defined in code (else in `astra.yml`).
    pub builtin: bool,
    /// Prompt text appended to the system prompt of agents with the skill.
    pub instructions: String,
    /// Its tools, in order.
    pub tools: Vec<SkillToolOut>,
}

fn find(state: &AppState, id: &str) -> ApiResult<Skill> {
    state
        .skills
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Skill"))
}

/// Get a skill with its instructions and its tools' descriptions and schemas.
#[utoipa::path(get, path = "/skills/{id}", tag = "skills", params(("id" = String, Path)),
    responses((status = 200, body = SkillDetail), (status = 404, body = ErrorOut)))]
async fn get_skill(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SkillDetail>> {
    let skill = find(&state, &id)?;
    let tools = skill
        .tools
        .iter()
        .filter_map(|name| state.tools.get(name))
        .map(|t| SkillToolOut {
            name: t.name().to_string(),
            description: t.description().to_string(),
            parameters: t.parameters(),
            cacheable: t.cacheable(),
            available: t.available(),
        })
        .collect();
    Ok(Json(SkillDetail {
        id: skill.id,
        display_name: skill.display_name,
        category: skill.category,
        description: skill.description,
        builtin: skill.builtin,
        instructions: skill.instructions,
        tools,
    }))
}

/// Calls of one tool within a skill.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolUsage {
    /// Tool name.
    pub name: String,
    /// Calls.
    pub calls: i64,
    /// Failed calls / calls.
    pub error_rate: f64,
}

/// Aggregated performance of a skill's tools.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkillMetricsOut {
    /// The skill.
    pub skill_id: String,
    /// Days covered.
    pub days: i64,
    /// Start of the period.
    pub since: DateTime<Utc>,
    /// Calls in the period.
    pub total_calls: i64,
    /// Failed calls / calls (0 without calls).
    pub error_rate: f64,
    /// Median call duration.
    pub p50_ms: i64,
    /// 95th percentile call duration.
    pub p95_ms: i64,
    /// Most called tools, busiest first.
    pub top_tools: Vec<ToolUsage>,
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Performance of a skill over the last 30 days: calls, error rate, p50/p95 latency, top
/// tools (aggregates only).
#[utoipa::path(get, path = "/skills/{id}/metrics", tag = "skills", params(("id" = String, Path)),
    responses((status = 200, body = SkillMetricsOut), (status = 404, body = ErrorOut)))]
async fn skill_metrics(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<SkillMetricsOut>> {
    let skill = find(&state, &id)?;
    let since = Utc::now() - Duration::days(METRICS_DAYS);
    let m = state
        .store
        .skill_metrics()
        .skill_metrics_summary(&skill.id, since)
        .await?;
    Ok(Json(SkillMetricsOut {
        skill_id: skill.id,
        days: METRICS_DAYS,
        since,
        total_calls: m.total_calls,
        error_rate: ratio(m.errors, m.total_calls),
        p50_ms: m.p50_ms,
        p95_ms: m.p95_ms,
        top_tools: m
            .top_tools
            .into_iter()
            .map(|(name, calls, errors)| ToolUsage {
                name,
                calls,
                error_rate: ratio(errors, calls),
            })
            .collect(),
    }))
}
