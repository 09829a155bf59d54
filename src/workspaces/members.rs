//! Member rules: who may add, re-role and remove whom. Each change is decided inside the
//! store's membership transaction on the roles as they are at that moment, so two owners
//! demoting each other at once cannot leave the workspace without an owner.

use chrono::Utc;

use super::Role;
use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{MemberRow, MemberWrite, MembershipSnapshot, Store},
};

fn manager_required() -> ApiError {
    ApiError::Forbidden("Requires the owner or admin role in this workspace".into())
}

fn role_of(raw: Option<&String>) -> Option<Role> {
    raw.and_then(|r| Role::parse(r))
}

/// Adds a member (by email or uid) or changes their role; returns the member and whether
/// they are new. `actor_role` (read when the request was admitted) gives early answers; the
/// actor's role is checked again inside the transaction.
pub async fn put_member(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
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
        (Some(email), _) => {
            store
                .users()
                .user_by_email(&email.trim().to_lowercase())
                .await?
        }
        (None, Some(uid)) => store.users().user_by_id(uid).await?,
        (None, None) => return Err(ApiError::field("email", "email or uid is required")),
    }
    .ok_or_else(|| ApiError::not_found("User"))?;
    let decide = |s: &MembershipSnapshot| -> ApiResult<MemberWrite> {
        let actor = role_of(s.actor_role.as_ref())
            .ok_or_else(|| ApiError::Forbidden("You are not a member of this workspace".into()))?;
        if !actor.can_manage() {
            return Err(manager_required());
        }
        if role == Role::Owner && actor != Role::Owner {
            return Err(ApiError::Forbidden("Only owners can add owners".into()));
        }
        if role_of(s.target_role.as_ref()) == Some(Role::Owner) {
            if actor != Role::Owner {
                return Err(ApiError::Forbidden(
                    "Only owners can change an owner's role".into(),
                ));
            }
            if role != Role::Owner && s.owners <= 1 {
                return Err(ApiError::Conflict(
                    "A workspace must keep at least one owner".into(),
                ));
            }
        }
        Ok(MemberWrite::SetRole(role.as_str()))
    };
    let created = store
        .workspaces()
        .change_membership(workspace_id, actor_id, &user.id, Utc::now(), decide)
        .await??;
    let member = store
        .workspaces()
        .member(workspace_id, &user.id)
        .await?
        .ok_or_else(|| ApiError::not_found("Member"))?;
    Ok((member, created))
}

/// One page of the members of a workspace the caller belongs to (any role may see who else
/// is in it), oldest member first, with the total.
pub async fn list_members(
    store: &Store,
    workspace_id: &str,
    user_id: &str,
    page: Page,
) -> ApiResult<(Vec<MemberRow>, i64)> {
    super::load_for(store, workspace_id, user_id).await?;
    Ok(store
        .workspaces()
        .members(workspace_id, page.limit, page.offset)
        .await?)
}

/// Removes a member; managers remove anyone but owners (owners only by owners), anyone may
/// leave; the last owner stays.
pub async fn remove_member(
    store: &Store,
    workspace_id: &str,
    actor_id: &str,
    uid: &str,
) -> ApiResult<()> {
    let leaving = actor_id == uid;
    let decide = |s: &MembershipSnapshot| -> ApiResult<MemberWrite> {
        let actor = role_of(s.actor_role.as_ref())
            .ok_or_else(|| ApiError::Forbidden("You are not a member of this workspace".into()))?;
        let target =
            role_of(s.target_role.as_ref()).ok_or_else(|| ApiError::not_found("Member"))?;
        if !leaving && !actor.can_manage() {
            return Err(manager_required());
        }
        if !leaving && target == Role::Owner && actor != Role::Owner {
            return Err(ApiError::Forbidden("Only owners can remove owners".into()));
        }
        if target == Role::Owner && s.owners <= 1 {
            return Err(ApiError::Conflict(
                "The last owner cannot be removed".into(),
            ));
        }
        Ok(MemberWrite::Remove)
    };
    store
        .workspaces()
        .change_membership(workspace_id, actor_id, uid, Utc::now(), decide)
        .await??;
    Ok(())
}

/// Why background work created by `user_id` (a job, a monitor) may not run as them in
/// `workspace_id` any more, or `None` when it may. Such work acts with its creator's CURRENT
/// authority, read fresh from the database at run time: the creator must still be a member
/// with a role that could create it (member or above; viewers cannot).
pub async fn creator_refusal(
    store: &Store,
    workspace_id: &str,
    user_id: &str,
) -> ApiResult<Option<&'static str>> {
    let role = store
        .workspaces()
        .member_role(workspace_id, user_id)
        .await?
        .and_then(|r| Role::parse(&r));
    Ok(match role {
        None => Some("its creator is no longer a member of the workspace"),
        Some(Role::Viewer) => Some("its creator is now a viewer of the workspace"),
        Some(_) => None,
    })
}
