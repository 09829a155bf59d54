//! `X-Idempotency-Key` on `/agent/chat`: a repeat within 5 minutes replays the stored
//! response; the same key with another body is 422; a repeat while the first runs waits.

use std::time::{Duration, Instant};

use axum::{
    Json,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{app::AppState, error::ApiError, store::IdempotencyClaim};

/// How long keys are remembered.
pub const KEY_TTL: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(50);

/// What to do with a request.
pub enum Idempotency {
    /// Run it; complete the guard, when the request carried a key, with the response.
    Fresh(Option<IdempotencyGuard>),
    /// Answer with this stored response.
    Replay(Response),
}

/// Reads and checks the header (1–255 visible characters).
pub fn key_from(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    key_in(headers, "X-Idempotency-Key")
}

/// Reads and checks the key in header `name` (`/v1` uses OpenAI's `Idempotency-Key`).
pub fn key_in(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(name) else {
        return Ok(None);
    };
    let key = raw.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::field(name, "must be 1-255 visible characters"));
    }
    Ok(Some(key.to_string()))
}

/// A stable hash of the route and JSON body (object keys are ordered by serde_json).
pub fn request_hash(route: &str, body: &Value) -> String {
    hex::encode(Sha256::digest(format!("{route}\n{body}").as_bytes()))
}

/// Claims the key, if the request carries one, waiting (bounded by the request timeout)
/// while a first request runs. Without a key the request simply runs (`Fresh(None)`).
pub async fn claim(
    state: &AppState,
    user_id: &str,
    key: Option<&str>,
    hash: &str,
) -> Result<Idempotency, ApiError> {
    let Some(key) = key else {
        return Ok(Idempotency::Fresh(None));
    };
    let bound = state.config.limits.request_timeout + Duration::from_secs(5);
    let started = Instant::now();
    loop {
        let now = Utc::now();
        let expired = now - chrono::Duration::from_std(KEY_TTL).unwrap_or_default();
        match state
            .store
            .idempotency()
            .claim_idempotency(user_id, key, hash, now, expired)
            .await?
        {
            IdempotencyClaim::Fresh => {
                return Ok(Idempotency::Fresh(Some(IdempotencyGuard {
                    state: state.clone(),
                    user_id: user_id.to_string(),
                    key: key.to_string(),
                    done: false,
                })));
            }
            IdempotencyClaim::Replay { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let mut response = (status, Json(body)).into_response();
                response.headers_mut().insert(
                    "idempotent-replayed",
                    axum::http::HeaderValue::from_static("true"),
                );
                return Ok(Idempotency::Replay(response));
            }
            IdempotencyClaim::Mismatch => return Err(ApiError::IdempotencyKeyReused),
            IdempotencyClaim::InProgress if started.elapsed() < bound => {
                tokio::time::sleep(POLL).await
            }
            IdempotencyClaim::InProgress => return Err(ApiError::IdempotencyInProgress),
        }
    }
}

/// A claimed key; released if dropped before completion (so a retry can run).
pub struct IdempotencyGuard {
    state: AppState,
    user_id: String,
    key: String,
    done: bool,
}

impl IdempotencyGuard {
    /// Stores the response for replays.
    pub async fn complete(&mut self, status: StatusCode, body: &Value) {
        match self
            .state
            .store
            .idempotency()
            .complete_idempotency(&self.user_id, &self.key, status.as_u16(), &body.to_string())
            .await
        {
            Ok(()) => self.done = true,
            Err(e) => tracing::error!(error = %e, "could not store the idempotent response"),
        }
    }
}

impl Drop for IdempotencyGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let state = self.state.clone();
        let (user, key) = (
            std::mem::take(&mut self.user_id),
            std::mem::take(&mut self.key),
        );
        state.tasks.clone().spawn(async move {
            if let Err(e) = state
                .store
                .idempotency()
                .release_idempotency(&user, &key)
                .await
            {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
        });
    }
}
