//! Route group 3: `/agent/memory/*` — the caller's own memory in the current workspace:
//! profile, daily entries, strategic notes and search. The seed's chain applies: JWT, token
//! budget, workspace membership, per-IP rate (counted apart from the chat routes' window).

use axum::{
    Json,
    extract::{FromRequestParts, State},
    http::{StatusCode, request::Parts},
};
use utoipa_axum::{router::OpenApiRouter, routes};

mod dto;

pub use dto::*;

use super::{
    client_ip::ClientIp,
    dto::Paged,
    error_schema::ErrorOut,
    extract::{ApiJson, ApiPath, ApiQuery, PageParams, WorkspaceMember},
};
use crate::{
    app::AppState,
    auth::AuthUser,
    chat::turn::{self, TurnEnv},
    error::{ApiError, ApiResult},
    memory::{
        Owner, SearchOptions, browse,
        embed::Embedders,
        entries::{self, Source},
        hybrid::{self, Mode},
        profile,
    },
};

/// Routes of the memory group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(recent_daily))
        .routes(routes!(daily_on))
        .routes(routes!(delete_daily))
        .routes(routes!(add_note, list_notes))
        .routes(routes!(delete_note))
        .routes(routes!(search_memory))
}

/// A caller admitted to the memory routes.
struct MemoryCaller(WorkspaceMember);

impl MemoryCaller {
    fn owner(&self) -> Owner<'_> {
        Owner {
            user_id: &self.0.user.id,
            workspace_id: &self.0.workspace_id,
        }
    }
}

impl FromRequestParts<AppState> for MemoryCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        turn::check_budget(&TurnEnv::from(state), &user, "").await?;
        let member = WorkspaceMember::resolve(state, &parts.headers, user).await?;
        if let Some(ClientIp(ip)) = ClientIp::of(parts, &state.config.trusted_proxies)
            && let Some(d) = state.ip_limiter.check(&format!("memory:{ip}")).await
            && !d.allowed
        {
            return Err(ApiError::RateLimit {
                retry_after: d.reset_secs,
            });
        }
        Ok(MemoryCaller(member))
    }
}

fn parse_index(raw: &str, field: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i >= 0)
        .ok_or_else(|| ApiError::field(field, "must be a non-negative integer"))
}

/// Load the caller's long-term profile.
#[utoipa::path(get, path = "/agent/memory/profile", tag = "memory", security(("bearer" = [])),
    responses((status = 200, body = ProfileOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut)))]
async fn get_profile(
    State(state): State<AppState>,
    caller: MemoryCaller,
) -> ApiResult<Json<ProfileOut>> {
    Ok(Json(
        profile::load(&state.store, caller.owner()).await?.into(),
    ))
}

/// Replace the caller's long-term profile (a JSON object, at most 64 KB).
#[utoipa::path(put, path = "/agent/memory/profile", tag = "memory", request_body = ProfileIn,
    security(("bearer" = [])), responses((status = 200, body = ProfileOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn put_profile(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiJson(body): ApiJson<ProfileIn>,
) -> ApiResult<Json<ProfileOut>> {
    let saved = profile::replace(&state.store, caller.owner(), body.profile).await?;
    Ok(Json(saved.into()))
}

/// Recent daily memory entries, grouped by day, newest day first.
#[utoipa::path(get, path = "/agent/memory/daily", tag = "memory", params(DaysParams),
    security(("bearer" = [])), responses((status = 200, body = RecentDaysOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn recent_daily(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiQuery(params): ApiQuery<DaysParams>,
) -> ApiResult<Json<RecentDaysOut>> {
    let days = params.days.unwrap_or(7);
    let items = browse::recent_days(&state.store, caller.owner(), days)
        .await?
        .into_iter()
        .map(DayOut::from)
        .collect();
    Ok(Json(RecentDaysOut { days, items }))
}

/// Daily memory of one day (`YYYY-MM-DD`); a day without entries has an empty list.
#[utoipa::path(get, path = "/agent/memory/daily/{date}", tag = "memory",
    params(("date" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = DayOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn daily_on(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiPath(date): ApiPath<String>,
) -> ApiResult<Json<DayOut>> {
    let rows = browse::day(&state.store, caller.owner(), &date).await?;
    Ok(Json(DayOut {
        date,
        entries: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Delete one daily entry by its index within the day.
#[utoipa::path(delete, path = "/agent/memory/daily/{date}/{entryIndex}", tag = "memory",
    params(("date" = String, Path), ("entryIndex" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_daily(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiPath((date, index)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let index = parse_index(&index, "entryIndex")?;
    browse::delete_daily(&state.store, caller.owner(), &date, index).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a strategic note.
#[utoipa::path(post, path = "/agent/memory/notes", tag = "memory", request_body = NoteIn,
    security(("bearer" = [])), responses((status = 201, body = NoteOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn add_note(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiJson(body): ApiJson<NoteIn>,
) -> ApiResult<(StatusCode, Json<NoteOut>)> {
    let row = entries::add_note(
        &state.store,
        caller.owner(),
        &body.content,
        &body.tags,
        Source::Api,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// List strategic notes, newest first.
#[utoipa::path(get, path = "/agent/memory/notes", tag = "memory", params(PageParams),
    security(("bearer" = [])),
    responses((status = 200, body = Paged<NoteOut>), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn list_notes(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Json<Paged<NoteOut>>> {
    let page = params.resolve(100)?;
    let (rows, total) = browse::notes(&state.store, caller.owner(), page).await?;
    let items = rows.into_iter().map(NoteOut::from).collect();
    Ok(Json(Paged::new(items, total, page)))
}

/// Delete a strategic note by its index.
#[utoipa::path(delete, path = "/agent/memory/notes/{index}", tag = "memory",
    params(("index" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut), (status = 404, body = ErrorOut)))]
async fn delete_note(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiPath(index): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let index = parse_index(&index, "index")?;
    browse::delete_note(&state.store, caller.owner(), index).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Hybrid (full-text + vector, fused by RRF) search across profile, daily entries, notes and
/// session messages.
#[utoipa::path(get, path = "/agent/memory/search", tag = "memory", params(SearchParams),
    security(("bearer" = [])), responses((status = 200, body = SearchOut), (status = 403, body = ErrorOut), (status = 429, body = ErrorOut), (status = 400, body = ErrorOut)))]
async fn search_memory(
    State(state): State<AppState>,
    caller: MemoryCaller,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<SearchOut>> {
    let q = params.q.unwrap_or_default();
    let len = q.trim().chars().count();
    if len == 0 || q.chars().count() > 500 {
        return Err(ApiError::field("q", "must be 1-500 characters"));
    }
    let top_k = params.top_k.unwrap_or(5);
    if !(1..=50).contains(&top_k) {
        return Err(ApiError::field("topK", "must be 1-50"));
    }
    let mode = match params.mode.as_deref() {
        None => Mode::Hybrid,
        Some(m) => Mode::parse(m)
            .ok_or_else(|| ApiError::field("mode", "must be keyword, vector or hybrid"))?,
    };
    let embedders = Embedders::new(
        &state.config.memory,
        Some((state.providers.clone(), state.pricing.clone())),
    );
    let items = hybrid::search(
        &state.store,
        &embedders,
        caller.owner(),
        &q,
        &SearchOptions::all(top_k as usize),
        mode,
    )
    .await?;
    Ok(Json(SearchOut { items }))
}
