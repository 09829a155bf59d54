//! Workspace operations, called by the thin HTTP handlers.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;

use super::{KNOWN_PROVIDERS, Role, parse_name, parse_plan};
use crate::{
    error::{ApiError, ApiResult},
    http::validate::Problems,
    store::{GrantRow, MemberRow, Store, WorkspaceRow, ids::new_id},
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
    store.create_workspace(&ws).await?;
    store
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

/// Loads a workspace the caller belongs to; non-members get 403, unknown ids 404.
pub async fn load_for(store: &Store, id: &str, user_id: &str) -> ApiResult<(WorkspaceRow, Role)> {
    let ws = store
        .workspace(id)
        .await?
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    let role = store
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
    store.update_workspace(&ws).await?;
    Ok(ws)
}

/// Adds a member (by email or uid) or changes their role.
pub async fn put_member(
    store: &Store,
    workspace_id: &str,
    actor_role: Role,
    email: Option<&str>,
    uid: Option<&str>,
    role: &str,
) -> ApiResult<(MemberRow, bool)> {
    let role = Role::parse(role)
        .ok_or_else(|| ApiError::field("role", "must be one of owner, admin, member, viewer"))?;
    if role == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::Forbidden("Only owners can add owners".into()));
    }
    let user = match (email, uid) {
        (Some(email), _) => store.user_by_email(&email.trim().to_lowercase()).await?,
        (None, Some(uid)) => store.user_by_id(uid).await?,
        (None, None) => return Err(ApiError::field("email", "email or uid is required")),
    }
    .ok_or_else(|| ApiError::not_found("User"))?;
    if let Some(current) = store
        .member_role(workspace_id, &user.id)
        .await?
        .and_then(|r| Role::parse(&r))
    {
        if current == Role::Owner && actor_role != Role::Owner {
            return Err(ApiError::Forbidden(
                "Only owners can change an owner's role".into(),
            ));
        }
        if current == Role::Owner
            && role != Role::Owner
            && store.owner_count(workspace_id).await? <= 1
        {
            return Err(ApiError::Conflict(
                "A workspace must keep at least one owner".into(),
            ));
        }
    }
    let created = store
        .upsert_member(workspace_id, &user.id, role.as_str(), Utc::now())
        .await?;
    let member = store
        .member(workspace_id, &user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    Ok((member, created))
}

/// Removes a member; managers remove anyone but owners (owners only by owners), anyone may
/// leave; the last owner stays.
pub async fn remove_member(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
    actor_role: Role,
    uid: &str,
) -> ApiResult<()> {
    let target = store
        .member_role(workspace_id, uid)
        .await?
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| ApiError::not_found("Member"))?;
    let leaving = actor_id == uid;
    if !leaving && !actor_role.can_manage() {
        return Err(ApiError::Forbidden(
            "Requires the owner or admin role in this workspace".into(),
        ));
    }
    if !leaving && target == Role::Owner && actor_role != Role::Owner {
        return Err(ApiError::Forbidden("Only owners can remove owners".into()));
    }
    match store.remove_member(workspace_id, uid).await? {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::Conflict(
            "The last owner cannot be removed".into(),
        )),
        None => Err(ApiError::not_found("Member")),
    }
}

/// Grants `agent_id` of `workspace_id` to another workspace.
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
    };
    let result = store.upsert_grant(&row).await?;
    store
        .audit(
            actor_id,
            Some(workspace_id),
            "grant.create",
            Some(agent_id),
            serde_json::json!({"receivingWorkspaceId": receiving}),
        )
        .await?;
    Ok(result)
}

/// Checks a restriction list: known providers, non-empty model names.
pub fn check_restrictions(
    providers: Option<&[String]>,
    models: Option<&[String]>,
) -> ApiResult<()> {
    let mut problems = Problems::new();
    if let Some(list) = providers
        && let Some(bad) = list.iter().find(|p| !KNOWN_PROVIDERS.contains(&p.as_str()))
    {
        problems.add(
            "allowedProviders",
            format!(
                "unknown provider {bad:?}; known: {}",
                KNOWN_PROVIDERS.join(", ")
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
