//! Route group 6: `/sessions/*` — the caller's sessions, their messages, full-text search and
//! agent handoff. Scope: the caller's own sessions, narrowed to the `X-Workspace-Id`
//! workspace when the header is sent.

mod dto;

pub use dto::{
    HandoffIn, MessageHitOut, MessageOut, MessageSearchOut, SessionDetailOut, SessionOut,
};

use axum::{
    Json,
    extract::{FromRequestParts, State},
    http::request::Parts,
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::{
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WORKSPACE_HEADER, WorkspaceMember},
    validate::{Problems, length_between},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    sessions::{self, Scope},
};

/// Routes of the sessions group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(search_messages))
        .routes(routes!(get_session))
        .routes(routes!(handoff))
}

/// The caller, and the workspace the view is narrowed to when `X-Workspace-Id` was sent
/// (membership checked: 403 otherwise).
pub struct SessionScope {
    user: AuthUser,
    workspace_id: Option<String>,
}

impl FromRequestParts<AppState> for SessionScope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        if !parts.headers.contains_key(WORKSPACE_HEADER) {
            return Ok(Self {
                user,
                workspace_id: None,
            });
        }
        let member = WorkspaceMember::resolve(state, &parts.headers, user).await?;
        Ok(Self {
            user: member.user,
            workspace_id: Some(member.workspace_id),
        })
    }
}

impl SessionScope {
    /// The domain's view of this scope.
    fn scope(&self) -> Scope<'_> {
        Scope {
            user_id: &self.user.id,
            workspace_id: self.workspace_id.as_deref(),
        }
    }
}

/// `GET /sessions` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `active` or `archived` (default both).
    pub status: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
    /// Items to skip.
    pub offset: Option<i64>,
}

/// The caller's sessions, newest activity first.
#[utoipa::path(get, path = "/sessions", tag = "sessions", params(ListParams,
        ("X-Workspace-Id" = Option<String>, Header, description = "only this workspace")),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<SessionOut>), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn list_sessions(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Paged<SessionOut>>> {
    let status = params.status.as_deref();
    if status.is_some_and(|s| s != "active" && s != "archived") {
        return Err(ApiError::field("status", "must be active or archived"));
    }
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .resolve(100)?;
    let (rows, total) = sessions::list(&state.store, scope.scope(), status, page).await?;
    let items = rows.into_iter().map(SessionOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// `GET /sessions/:id` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DetailParams {
    /// How many of the newest messages to return, 1–500 (default 50).
    pub limit: Option<i64>,
}

/// A session with its newest messages, oldest first.
#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions", params(("id" = String, Path), DetailParams),
    security(("bearer" = [])),
    responses((status = 200, body = SessionDetailOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn get_session(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DetailParams>,
) -> ApiResult<Json<SessionDetailOut>> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1-500"));
    }
    let (session, messages) = sessions::detail(&state.store, scope.scope(), &id, limit).await?;
    Ok(Json(SessionDetailOut {
        session: session.into(),
        messages: messages.into_iter().map(MessageOut::from).collect(),
    }))
}

/// `GET /sessions/search/messages` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Web-search syntax: words, `"phrases"`, `or`, `-excluded`; 1–200 characters.
    pub q: Option<String>,
    /// Most results, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// Full-text search over the caller's messages, best match first.
#[utoipa::path(get, path = "/sessions/search/messages", tag = "sessions", params(SearchParams),
    security(("bearer" = [])),
    responses((status = 200, body = MessageSearchOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut)))]
async fn search_messages(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<MessageSearchOut>> {
    let q = params.q.unwrap_or_default();
    let limit = params.limit.unwrap_or(20);
    let mut problems = Problems::new();
    problems.check(
        !length_between(q.trim(), 1, 200),
        "q",
        "must be 1-200 characters",
    );
    problems.check(!(1..=100).contains(&limit), "limit", "must be 1-100");
    problems.finish()?;
    let (hits, total) = sessions::search(&state.store, scope.scope(), q.trim(), limit).await?;
    Ok(Json(MessageSearchOut {
        items: hits.into_iter().map(MessageHitOut::from).collect(),
        total,
    }))
}

/// Transfer an active session to another agent: the next message to that agent on the same
/// surface continues this conversation.
#[utoipa::path(post, path = "/sessions/{id}/handoff", tag = "sessions", params(("id" = String, Path)),
    request_body = HandoffIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 400, body = ErrorOut), (status = 403, body = ErrorOut), (status = 404, body = ErrorOut), (status = 409, body = ErrorOut)))]
async fn handoff(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HandoffIn>,
) -> ApiResult<Json<SessionOut>> {
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let mut problems = Problems::new();
    problems.check(
        !length_between(&body.agent_id, 1, 64),
        "agentId",
        "must be 1-64 characters",
    );
    problems.check(
        reason.is_some_and(|r| r.chars().count() > 500),
        "reason",
        "must be at most 500 characters",
    );
    problems.finish()?;
    let updated = sessions::handoff(
        &state.store,
        &state.global_agents,
        scope.scope(),
        &id,
        &body.agent_id,
        reason,
    )
    .await?;
    Ok(Json(updated.into()))
}
