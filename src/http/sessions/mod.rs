//! Route group 6: `/sessions/*` — the caller's sessions, their messages, full-text search and
//! agent handoff. Scope: the caller's own sessions, narrowed to the `X-Workspace-Id`
//! workspace when the header is sent.

mod dto;

pub use dto::{MessageHitOut, MessageOut, MessageSearchOut, SessionOut, session_json};

use axum::{
    Json,
    extract::{FromRequestParts, State},
    http::request::Parts,
};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::{
    extract::{
        ApiJson, ApiPath, ApiQuery, PageParams, WORKSPACE_HEADER, WorkspaceMember, page_body,
    },
    validate::{Problems, length_between},
};
use crate::{
    agents::resolve_agent,
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
    store::{Handoff, MessageRow, SessionFilter, SessionRow, ids::new_id},
    workspaces::Role,
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
    /// The session if it is the caller's and inside the scope; 404 otherwise.
    async fn load(&self, state: &AppState, id: &str) -> ApiResult<SessionRow> {
        state
            .store
            .session(id)
            .await?
            .filter(|s| s.user_id == self.user.id)
            .filter(|s| {
                self.workspace_id
                    .as_ref()
                    .is_none_or(|w| *w == s.workspace_id)
            })
            .ok_or_else(|| ApiError::not_found("Session"))
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
    security(("bearer" = [])), responses((status = 200, description = "{items, total, limit, offset}"), (status = 400)))]
async fn list_sessions(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let status = params.status.as_deref();
    if status.is_some_and(|s| s != "active" && s != "archived") {
        return Err(ApiError::field("status", "must be active or archived"));
    }
    let page = PageParams {
        limit: params.limit,
        offset: params.offset,
    }
    .resolve(100)?;
    let filter = SessionFilter {
        user_id: &scope.user.id,
        workspace_id: scope.workspace_id.as_deref(),
        status,
    };
    let (rows, total) = state
        .store
        .list_sessions(&filter, page.limit, page.offset)
        .await?;
    let items = rows.into_iter().map(session_json).collect();
    Ok(Json(page_body(items, total, page)))
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
    security(("bearer" = [])), responses((status = 200, description = "session + messages"), (status = 404)))]
async fn get_session(
    State(state): State<AppState>,
    scope: SessionScope,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<DetailParams>,
) -> ApiResult<Json<Value>> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be 1-500"));
    }
    let session = scope.load(&state, &id).await?;
    let messages: Vec<MessageOut> = state
        .store
        .session_messages(&session.id, None, limit)
        .await?
        .into_iter()
        .map(MessageOut::from)
        .collect();
    let mut body = session_json(session);
    body["messages"] = serde_json::to_value(messages).unwrap_or_default();
    Ok(Json(body))
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
    security(("bearer" = [])), responses((status = 200, body = MessageSearchOut), (status = 400)))]
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
    let (hits, total) = state
        .store
        .search_messages(
            &scope.user.id,
            scope.workspace_id.as_deref(),
            q.trim(),
            limit,
        )
        .await?;
    Ok(Json(MessageSearchOut {
        items: hits.into_iter().map(MessageHitOut::from).collect(),
        total,
    }))
}

/// Handoff request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HandoffIn {
    /// The agent taking over (resolved like a chat turn's agent).
    pub agent_id: String,
    /// Why, up to 500 characters; kept in the note and the audit log.
    pub reason: Option<String>,
}

/// Transfer an active session to another agent: the next message to that agent on the same
/// surface continues this conversation.
#[utoipa::path(post, path = "/sessions/{id}/handoff", tag = "sessions", params(("id" = String, Path)),
    request_body = HandoffIn, security(("bearer" = [])),
    responses((status = 200, body = SessionOut), (status = 400), (status = 403), (status = 404), (status = 409)))]
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
    let session = scope.load(&state, &id).await?;
    let role = state
        .store
        .member_role(&session.workspace_id, &scope.user.id)
        .await?
        .and_then(|r| Role::parse(&r))
        .ok_or_else(|| ApiError::not_found("Session"))?;
    if !role.can_run_agents() {
        return Err(ApiError::Forbidden("Viewers cannot run agents".into()));
    }
    if session.status != "active" {
        return Err(ApiError::Conflict(
            "Archived sessions cannot be handed off".into(),
        ));
    }
    if session.agent_id == body.agent_id {
        return Err(ApiError::field("agentId", "is already the session's agent"));
    }
    let now = Utc::now();
    resolve_agent(
        &state.store,
        &state.global_agents,
        &session.workspace_id,
        &body.agent_id,
        now,
    )
    .await?;
    let mut text = format!(
        "Conversation handed off from agent {} to agent {}.",
        session.agent_id, body.agent_id
    );
    if let Some(reason) = reason {
        text.push_str(" Reason: ");
        text.push_str(reason);
    }
    let note = MessageRow {
        id: new_id("msg"),
        session_id: session.id.clone(),
        role: "system".into(),
        content: text,
        tool_calls: None,
        tool_call_id: None,
        name: None,
        incomplete: false,
        created_at: now,
    };
    let done = state
        .store
        .handoff_session(&Handoff {
            session: &session,
            to_agent: &body.agent_id,
            note: &note,
            details: json!({ "from": session.agent_id, "to": body.agent_id, "reason": reason }),
            now,
        })
        .await?;
    if !done {
        return Err(ApiError::Conflict(
            "The session changed meanwhile; reload it and retry".into(),
        ));
    }
    let updated = scope.load(&state, &id).await?;
    Ok(Json(updated.into()))
}
