//! A user's sessions as the sessions routes show them: listing, one session with its newest
//! messages, full-text message search, and handing a session off to another agent. Every
//! read is confined to a `Scope`: the caller's own sessions, optionally within one workspace.

mod handoff;

pub use handoff::handoff;

use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{MessageHit, MessageRow, SessionFilter, SessionRow, Store},
};

/// Whose sessions are visible: the user's own, narrowed to one workspace when given (the
/// caller has checked membership of it).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The caller.
    pub user_id: &'a str,
    /// The workspace the view is narrowed to.
    pub workspace_id: Option<&'a str>,
}

/// The session if it is the caller's and inside the scope; 404 otherwise (never 403, so
/// the ids of other users' sessions are not confirmed).
pub async fn load(store: &Store, scope: Scope<'_>, id: &str) -> ApiResult<SessionRow> {
    store
        .sessions()
        .session(id)
        .await?
        .filter(|s| s.user_id == scope.user_id)
        .filter(|s| scope.workspace_id.is_none_or(|w| w == s.workspace_id))
        .ok_or_else(|| ApiError::not_found("Session"))
}

/// One page of the scope's sessions (optionally of one status), newest activity first, and
/// how many there are.
pub async fn list(
    store: &Store,
    scope: Scope<'_>,
    status: Option<&str>,
    page: Page,
) -> ApiResult<(Vec<SessionRow>, i64)> {
    let filter = SessionFilter {
        user_id: scope.user_id,
        workspace_id: scope.workspace_id,
        status,
    };
    Ok(store
        .sessions()
        .list_sessions(&filter, page.limit, page.offset)
        .await?)
}

/// A session of the scope with its newest `limit` messages, oldest first.
pub async fn detail(
    store: &Store,
    scope: Scope<'_>,
    id: &str,
    limit: i64,
) -> ApiResult<(SessionRow, Vec<MessageRow>)> {
    let session = load(store, scope, id).await?;
    let messages = store
        .sessions()
        .session_messages(&session.id, None, limit)
        .await?;
    Ok((session, messages))
}

/// Full-text search over the scope's messages (web-search syntax), best match first, and
/// how many match in all.
pub async fn search(
    store: &Store,
    scope: Scope<'_>,
    q: &str,
    limit: i64,
) -> ApiResult<(Vec<MessageHit>, i64)> {
    Ok(store
        .sessions()
        .search_messages(scope.user_id, scope.workspace_id, q, limit)
        .await?)
}
