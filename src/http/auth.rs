//! Route group 1: `/auth/*` — register, login, refresh, logout.

use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{client_ip::ClientIp, error_schema::ErrorOut, extract::ApiJson};
use crate::{
    app::AppState,
    auth::{
        AuthUser, TokenPair,
        credentials::{Email, Password},
    },
    error::{ApiError, ApiResult},
    http::validate::Problems,
    store::UserRow,
};

/// Routes of the auth group.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CredentialsIn {
    /// Email address (case-insensitive).
    pub email: String,
    /// 8–1024 characters.
    pub password: String,
}

/// A refresh token to rotate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshIn {
    /// The refresh token from register, login or a previous refresh.
    pub refresh_token: String,
}

/// The public view of a user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserOut {
    /// `usr_…`
    pub id: String,
    /// Email address.
    pub email: String,
    /// Creation time.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&UserRow> for UserOut {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            created_at: u.created_at,
        }
    }
}

/// A signed-in user with tokens.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthOut {
    /// The user.
    pub user: UserOut,
    /// JWT access token (Bearer).
    pub access_token: String,
    /// Opaque refresh token.
    pub refresh_token: String,
}

/// A rotated token pair.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokensOut {
    /// JWT access token (Bearer).
    pub access_token: String,
    /// Opaque refresh token.
    pub refresh_token: String,
}

/// Logout result.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutOut {
    /// Always true.
    pub success: bool,
}

/// Admission to `/auth/*`: counts the request against the caller's per-IP limit
/// (`ASTRA_LIMITS_AUTH_PER_MINUTE`) before the body is read; 429 with `Retry-After` over it.
pub struct AuthRate;

impl axum::extract::FromRequestParts<AppState> for AuthRate {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        state.auth.check_ip(ip).await?;
        Ok(AuthRate)
    }
}

/// The checked email and password of a registration, or 400 naming the bad fields.
pub(super) fn register_input(body: &CredentialsIn) -> ApiResult<(Email, Password)> {
    let email = Email::parse(&body.email);
    let password = Password::parse(&body.password);
    let mut problems = Problems::new();
    problems.check(email.is_err(), "email", "must be a valid email address");
    problems.check(password.is_err(), "password", "must be 8-1024 characters");
    problems.finish()?;
    Ok((email?, password?))
}

/// The checked email of a login, or 400; checked before any database or hashing work (no
/// stored address is longer than 254).
pub(super) fn login_input(body: &CredentialsIn) -> ApiResult<Email> {
    let email = Email::parse(&body.email);
    let mut problems = Problems::new();
    problems.check(email.is_err(), "email", "must be a valid email address");
    problems.check(
        body.password.chars().count() > 1024,
        "password",
        "must be 8-1024 characters",
    );
    problems.finish()?;
    email
}

fn auth_out(user: &UserRow, tokens: TokenPair) -> AuthOut {
    AuthOut {
        user: user.into(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    }
}

/// Create a user (email + password).
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = CredentialsIn,
    responses((status = 201, body = AuthOut), (status = 400, body = ErrorOut), (status = 409, body = ErrorOut),
        (status = 429, body = ErrorOut, description = "per-IP limit; `Retry-After`")))]
async fn register(
    State(state): State<AppState>,
    _rate: AuthRate,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> ApiResult<(StatusCode, Json<AuthOut>)> {
    let (email, password) = register_input(&body)?;
    let (user, tokens) = state.auth.register(&state.store, email, password).await?;
    Ok((StatusCode::CREATED, Json(auth_out(&user, tokens))))
}

/// Authenticate with email and password.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = CredentialsIn,
    responses((status = 200, body = AuthOut), (status = 400, body = ErrorOut), (status = 401, body = ErrorOut),
        (status = 429, body = ErrorOut, description = "email locked or per-IP limit; `Retry-After`")))]
async fn login(
    State(state): State<AppState>,
    _rate: AuthRate,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> ApiResult<Json<AuthOut>> {
    let email = login_input(&body)?;
    let (user, tokens) = state
        .auth
        .login(&state.store, &email, &body.password)
        .await?;
    Ok(Json(auth_out(&user, tokens)))
}

/// Rotate a refresh token; a spent token revokes its whole family.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = TokensOut), (status = 401, body = ErrorOut), (status = 429, body = ErrorOut)))]
async fn refresh(
    State(state): State<AppState>,
    _rate: AuthRate,
    ApiJson(body): ApiJson<RefreshIn>,
) -> ApiResult<Json<TokensOut>> {
    let tokens = state
        .auth
        .refresh(&state.store, &body.refresh_token)
        .await?;
    Ok(Json(TokensOut {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    }))
}

/// Revoke all tokens of the calling user.
#[utoipa::path(post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])), responses((status = 200, body = LogoutOut), (status = 401, body = ErrorOut), (status = 429, body = ErrorOut)))]
async fn logout(
    State(state): State<AppState>,
    _rate: AuthRate,
    user: AuthUser,
) -> ApiResult<Json<LogoutOut>> {
    state.auth.logout(&state.store, &user.id).await?;
    Ok(Json(LogoutOut { success: true }))
}
