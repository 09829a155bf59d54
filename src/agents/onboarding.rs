//! First-run setup: a workspace owned by the caller, seeded with the starter agents, at most
//! once per user (a second call returns the same workspace).

use anyhow::Context;
use serde_json::{Map, Value, json};
use sqlx::types::Json;

use super::{AgentConfig, AgentConfigIn, service::AgentView, stored::encode};
use crate::{
    error::{ApiError, ApiResult},
    store::{Store, WorkspaceRow, ids::new_id},
    workspaces::{parse_name, parse_plan},
};

const CHAD_PROMPT: &str = "You are {{agent.name}}, a helpful general assistant working with \
{{user.email}} in the {{workspace.name}} workspace. It is {{weekday}} {{date}}, {{time}}.\n\n\
Answer accurately and concisely. Use your tools when they help: check facts on the web, do \
arithmetic with the calculator, and remember what the user asks you to remember. Say so when \
you are unsure.\n\n{{memory}}";

const RESEARCHER_PROMPT: &str = "You are {{agent.name}}, a careful research assistant. It is \
{{date}}.\n\nSearch the web, read the most relevant pages and answer with a short synthesis \
followed by the sources you used, each as a link. Distinguish facts from your inferences and \
point out when sources disagree.\n\n{{memory}}";

/// The agents every onboarded workspace starts with, on the default provider and model.
/// Built at start-up so a bad default provider stops the gateway instead of an onboarding.
pub fn starter_agents(provider: &str, model: &str) -> anyhow::Result<Vec<AgentConfig>> {
    let specs = [
        json!({
            "id": "chad",
            "displayName": "Chad",
            "tier": "standard",
            "model": {"provider": provider, "modelId": model},
            "systemPromptTemplate": CHAD_PROMPT,
            "skills": ["utilities", "web_research", "memory"],
        }),
        json!({
            "id": "researcher",
            "displayName": "Researcher",
            "tier": "standard",
            "model": {"provider": provider, "modelId": model, "temperature": 0.3},
            "systemPromptTemplate": RESEARCHER_PROMPT,
            "skills": ["web_research", "utilities"],
            "maxToolRounds": 10,
        }),
    ];
    specs
        .into_iter()
        .map(|spec| {
            let input: AgentConfigIn = serde_json::from_value(spec)?;
            input
                .validate(None)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("starter agents: check the default provider and model settings")
        })
        .collect()
}

/// What setup produced: the workspace, its agents, and whether this call created them.
#[derive(Debug)]
pub struct Onboarded {
    /// The caller's onboarding workspace.
    pub workspace: WorkspaceRow,
    /// Its agents.
    pub agents: Vec<AgentView>,
    /// The caller's current role there (`None` if they have since left it).
    pub role: Option<String>,
    /// False when onboarding had already run.
    pub created: bool,
}

/// Runs onboarding for `user_id`, or returns the workspace an earlier run created.
pub async fn setup(
    store: &Store,
    starters: &[AgentConfig],
    user_id: &str,
    workspace_name: Option<&str>,
    plan: Option<&str>,
) -> ApiResult<Onboarded> {
    if let Some(existing) = store.onboarding().onboarded_workspace(user_id).await? {
        return load(store, &existing, user_id, false).await;
    }
    let name = parse_name(workspace_name.unwrap_or("My Workspace"))
        .map_err(|_| ApiError::field("workspaceName", "must be 1-100 characters"))?;
    let plan = parse_plan(plan.unwrap_or("free"))?;
    let now = super::stored_now();
    let mut settings = Map::new();
    settings.insert("onboardedAt".into(), Value::String(now.to_rfc3339()));
    let ws = WorkspaceRow {
        id: new_id("ws"),
        name,
        owner_id: user_id.to_string(),
        plan,
        settings: Json(Value::Object(settings)),
        allowed_providers: None,
        allowed_models: None,
        created_at: now,
        updated_at: now,
    };
    let docs = starters.iter().map(encode).collect::<ApiResult<Vec<_>>>()?;
    if !store.onboarding().onboard(&ws, &docs, now).await? {
        // A concurrent call won the race; answer with its workspace.
        let existing = store
            .onboarding()
            .onboarded_workspace(user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("onboarding conflict without a recorded run"))?;
        return load(store, &existing, user_id, false).await;
    }
    store
        .users()
        .audit(
            user_id,
            Some(&ws.id),
            "onboarding.setup",
            Some(&ws.id),
            Value::Null,
        )
        .await?;
    load(store, &ws.id, user_id, true).await
}

async fn load(store: &Store, ws_id: &str, user_id: &str, created: bool) -> ApiResult<Onboarded> {
    let workspace = store
        .workspaces()
        .workspace(ws_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let agents = store
        .agents()
        .agents_of(ws_id)
        .await?
        .into_iter()
        .map(AgentView::try_from)
        .collect::<ApiResult<_>>()?;
    let role = store.workspaces().member_role(ws_id, user_id).await?;
    Ok(Onboarded {
        workspace,
        agents,
        role,
        created,
    })
}
