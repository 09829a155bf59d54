//! Workspaces: roles, validated inputs and the rules for members, grants and restrictions.

pub mod grants;
mod member;
mod members;
mod service;
mod usage;

pub use grants::{GrantAnswer, GrantStatus, grant};
pub use member::WorkspaceMember;
pub use members::*;
pub use service::*;
pub use usage::{WorkspaceUsage, usage};

use crate::error::ApiError;

/// A member's role in a workspace, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Full control; at least one per workspace.
    Owner,
    /// Manages settings, members, grants and agents.
    Admin,
    /// Uses agents.
    Member,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Parses `owner|admin|member|viewer`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// Owners and admins manage the workspace.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// Everyone but viewers may run agents.
    pub fn can_run_agents(self) -> bool {
        self != Role::Viewer
    }
}

/// A workspace name: 1–100 characters after trimming.
pub fn parse_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field("name", "must be 1-100 characters"));
    }
    Ok(name.to_string())
}

/// A plan name: 1–32 characters of `a-z0-9_-`.
pub fn parse_plan(raw: &str) -> Result<String, ApiError> {
    let ok = !raw.is_empty()
        && raw.len() <= 32
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(raw.to_string())
    } else {
        Err(ApiError::field(
            "plan",
            "must be 1-32 characters of a-z, 0-9, _ or -",
        ))
    }
}
