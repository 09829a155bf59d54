//! Workspace operations, called by the thin HTTP handlers.

use chrono::Utc;
use serde_json::{Map, Value, json};
use sqlx::types::Json;

use super::{Role, parse_name, parse_plan};
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    providers::PROVIDER_IDS,
    store::{Store, WorkspaceRow, ids::new_id},
    validate::Problems,
};

/// Creates a workspace owned by `owner_id`.
pub async fn create(
    store: &Store,
    owner_id: &str,
    name: &str,
    plan: Option<&str>,
) -> ApiResult<WorkspaceRow> {
    let name = parse_name(name)?;
    let plan = parse_plan(plan.unwrap_or("free"))?;
    let now = Utc::now();
    let ws = WorkspaceRow {
        id: new_id("ws"),
        name,
        owner_id: owner_id.to_string(),
        plan,
        settings: Json(Value::Object(Map::new())),
        allowed_providers: None,
        allowed_models: None,
        created_at: now,
        updated_at: now,
    };
    store.workspaces().create_workspace(&ws).await?;
    store
        .users()
        .audit(
            owner_id,
            Some(&ws.id),
            "workspace.create",
            Some(&ws.id),
            Value::Null,
        )
        .await?;
    Ok(ws)
}

/// The caller's workspaces with their role in each, and how many there are in all.
pub async fn list_for(
    store: &Store,
    user_id: &str,
    page: Page,
) -> ApiResult<(Vec<(WorkspaceRow, Option<Role>)>, i64)> {
    let (rows, total) = store
        .workspaces()
        .workspaces_of(user_id, page.limit, page.offset)
        .await?;
    let rows = rows
        .into_iter()
        .map(|(ws, role)| (ws, Role::parse(&role)))
        .collect();
    Ok((rows, total))
}

/// Loads a workspace the caller belongs to; non-members get 403, unknown ids 404.
pub async fn load_for(store: &Store, id: &str, user_id: &str) -> ApiResult<(WorkspaceRow, Role)> {
    let ws = store
        .workspaces()
        .workspace(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let role = store
        .workspaces()
        .member_role(id, user_id)
        .await?
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| ApiError::Forbidden("You are not a member of this workspace".into()))?;
    Ok((ws, role))
}

/// Loads a workspace the caller manages (owner or admin).
pub async fn load_managed(
    store: &Store,
    id: &str,
    user_id: &str,
) -> ApiResult<(WorkspaceRow, Role)> {
    let (ws, role) = load_for(store, id, user_id).await?;
    if !role.can_manage() {
        return Err(ApiError::Forbidden(
            "Requires the owner or admin role in this workspace".into(),
        ));
    }
    Ok((ws, role))
}

/// Applies a settings update: any of name, plan and a settings object (shallow-merged; a
/// `null` value removes a key).
pub async fn update_settings(
    store: &Store,
    mut ws: WorkspaceRow,
    name: Option<&str>,
    plan: Option<&str>,
    settings: Option<&Map<String, Value>>,
) -> ApiResult<WorkspaceRow> {
    let mut problems = Problems::new();
    if let Some(name) = name {
        match parse_name(name) {
            Ok(n) => ws.name = n,
            Err(_) => problems.add("name", "must be 1-100 characters"),
        }
    }
    if let Some(plan) = plan {
        match parse_plan(plan) {
            Ok(p) => ws.plan = p,
            Err(_) => problems.add("plan", "must be 1-32 characters of a-z, 0-9, _ or -"),
        }
    }
    // The memory embedder (`memoryEmbedder`): `hashing`, `http`, `model2vec` or null (the
    // default).
    let embedder_key = "memoryEmbedder";
    let before = ws.settings.0.get(embedder_key).cloned();
    if let Some(v) = settings.and_then(|p| p.get(embedder_key))
        && !(v.is_null() || v == "hashing" || v == "http" || v == "model2vec")
    {
        problems.add(
            "settings.memoryEmbedder",
            "must be hashing, http, model2vec or null",
        );
    }
    problems.finish()?;
    if let Some(patch) = settings {
        let current = ws.settings.0.as_object_mut();
        if let Some(current) = current {
            for (k, v) in patch {
                if v.is_null() {
                    current.remove(k);
                } else {
                    current.insert(k.clone(), v.clone());
                }
            }
        }
    }
    ws.updated_at = Utc::now();
    store.workspaces().update_workspace(&ws).await?;
    if ws.settings.0.get(embedder_key).cloned() != before {
        // Re-embedded in the background; progress is the embedding backlog.
        store
            .memory_vectors()
            .requeue_workspace(&ws.id, ws.updated_at)
            .await?;
    }
    Ok(ws)
}

/// Checks a restriction list: known providers, non-empty model names.
pub fn check_restrictions(
    providers: Option<&[String]>,
    models: Option<&[String]>,
) -> ApiResult<()> {
    let mut problems = Problems::new();
    if let Some(list) = providers
        && let Some(bad) = list.iter().find(|p| !PROVIDER_IDS.contains(&p.as_str()))
    {
        problems.add(
            "allowedProviders",
            format!(
                "unknown provider {bad:?}; known: {}",
                PROVIDER_IDS.join(", ")
            ),
        );
    }
    if let Some(list) = models {
        problems.check(
            list.iter().any(|m| m.trim().is_empty() || m.len() > 200),
            "allowedModels",
            "model names must be 1-200 characters",
        );
    }
    problems.finish()
}

/// Sets the allowed providers and models of a workspace the caller manages (`None` = any),
/// and records the change in the audit log.
pub async fn set_restrictions(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
    providers: Option<Vec<String>>,
    models: Option<Vec<String>>,
) -> ApiResult<()> {
    let (mut ws, _) = load_managed(store, workspace_id, actor_id).await?;
    check_restrictions(providers.as_deref(), models.as_deref())?;
    let details = json!({ "allowedProviders": providers, "allowedModels": models });
    ws.allowed_providers = providers.map(Json);
    ws.allowed_models = models.map(Json);
    ws.updated_at = Utc::now();
    store.workspaces().update_workspace(&ws).await?;
    store
        .users()
        .audit(
            actor_id,
            Some(workspace_id),
            "workspace.restrictions",
            Some(workspace_id),
            details,
        )
        .await?;
    Ok(())
}
