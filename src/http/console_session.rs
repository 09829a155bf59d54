//! The console's own sign-in routes: the same domain calls as `/auth/*`, but the refresh token
//! travels only in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to
//! `<prefix>/session`, so no script of the page can read it; the JSON body carries the
//! access token alone, which the app keeps in memory. See the README's "Web console".

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use super::{
    auth::{AuthRate, CredentialsIn, UserOut, login_input, register_input},
    console::security_headers,
    extract::ApiJson,
};
use crate::{
    app::AppState,
    auth::AuthUser,
    error::{ApiError, ApiResult},
};

/// Name of the refresh-token cookie.
pub const COOKIE: &str = "astra_console_refresh";

/// A console sign-in: the user and an access token (the refresh token is in the cookie).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOut {
    /// The user, on register and login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserOut>,
    /// JWT access token (Bearer), to keep in memory only.
    pub access_token: String,
}

/// `POST <prefix>/session/register`: creates a user, sets the cookie.
pub async fn register(
    State(state): State<AppState>,
    uri: Uri,
    _rate: AuthRate,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> ApiResult<Response> {
    let (email, password) = register_input(&body)?;
    let (user, tokens) = state.auth.register(&state.store, email, password).await?;
    let out = SessionOut {
        user: Some((&user).into()),
        access_token: tokens.access_token,
    };
    Ok(with_cookie(
        &state,
        &uri,
        StatusCode::CREATED,
        &out,
        Some(&tokens.refresh_token),
    ))
}

/// `POST <prefix>/session/login`: checks the password, sets the cookie.
pub async fn login(
    State(state): State<AppState>,
    uri: Uri,
    _rate: AuthRate,
    ApiJson(body): ApiJson<CredentialsIn>,
) -> ApiResult<Response> {
    let email = login_input(&body)?;
    let (user, tokens) = state
        .auth
        .login(&state.store, &email, &body.password)
        .await?;
    let out = SessionOut {
        user: Some((&user).into()),
        access_token: tokens.access_token,
    };
    Ok(with_cookie(
        &state,
        &uri,
        StatusCode::OK,
        &out,
        Some(&tokens.refresh_token),
    ))
}

/// `POST <prefix>/session/refresh`: rotates the cookie's refresh token (a spent one revokes
/// its family, as on `/auth/refresh`) and returns a new access token. Needs the
/// `X-Astra-Console` header, which no cross-site form can send.
pub async fn refresh(
    State(state): State<AppState>,
    uri: Uri,
    _rate: AuthRate,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if !headers.contains_key("x-astra-console") {
        return Err(ApiError::field("X-Astra-Console", "header required"));
    }
    let Some(token) = cookie(&headers, COOKIE) else {
        return Err(ApiError::Unauthorized("No console session".into()));
    };
    let tokens = match state.auth.refresh(&state.store, token).await {
        Ok(t) => t,
        Err(e) => {
            let mut r = e.into_response();
            set_cookie(&state, &uri, r.headers_mut(), None);
            return Ok(r);
        }
    };
    let out = SessionOut {
        user: None,
        access_token: tokens.access_token,
    };
    Ok(with_cookie(
        &state,
        &uri,
        StatusCode::OK,
        &out,
        Some(&tokens.refresh_token),
    ))
}

/// `POST <prefix>/session/logout` (bearer token): revokes all the user's tokens and clears
/// the cookie.
pub async fn logout(
    State(state): State<AppState>,
    uri: Uri,
    _rate: AuthRate,
    user: AuthUser,
) -> ApiResult<Response> {
    state.auth.logout(&state.store, &user.id).await?;
    let mut r = Json(serde_json::json!({ "success": true })).into_response();
    set_cookie(&state, &uri, r.headers_mut(), None);
    security_headers(r.headers_mut());
    Ok(r)
}

fn with_cookie(
    state: &AppState,
    uri: &Uri,
    status: StatusCode,
    out: &SessionOut,
    refresh: Option<&str>,
) -> Response {
    let mut r = (status, Json(out)).into_response();
    set_cookie(state, uri, r.headers_mut(), refresh);
    security_headers(r.headers_mut());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Sets (or, with `None`, clears) the refresh cookie, scoped to the session routes' folder.
fn set_cookie(state: &AppState, uri: &Uri, headers: &mut HeaderMap, token: Option<&str>) {
    let path = uri
        .path()
        .rsplit_once('/')
        .map_or("/", |(folder, _)| folder);
    let (value, max_age) = match token {
        Some(t) => (t, state.config.jwt_refresh_ttl.as_secs()),
        None => ("", 0),
    };
    let cookie = format!(
        "{COOKIE}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v)
}
