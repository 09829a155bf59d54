//! The caller acting inside a workspace: who, where, and with which role.
//!
//! The struct is domain data; how a request is turned into one (headers, membership lookup)
//! is the HTTP layer's business (`http::extract`).

use super::Role;
use crate::{auth::AuthUser, error::ApiError};

/// A caller acting inside a workspace (`X-Workspace-Id`, membership checked).
#[derive(Debug, Clone)]
pub struct WorkspaceMember {
    /// The caller.
    pub user: AuthUser,
    /// The workspace.
    pub workspace_id: String,
    /// The caller's role there.
    pub role: Role,
}

impl WorkspaceMember {
    /// 403 unless the caller is owner or admin.
    pub fn require_manager(&self) -> Result<(), ApiError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "Requires the owner or admin role in this workspace".into(),
            ))
        }
    }
}
