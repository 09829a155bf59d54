//! The background job queue: job types, validation of new jobs, the operations of the
//! `/jobs` routes ([`queue`]), execution ([`run`]) and the worker ([`worker`]).

pub mod queue;
pub mod run;
pub mod worker;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::types::Json;

use crate::{
    error::{ApiError, ApiResult},
    net::{check_url, parse_outbound_url},
    store::{JobRow, ids::new_id},
    validate::{Problems, from_value},
};

/// Job types that really run.
pub const JOB_TYPES: [&str; 4] = ["http_request", "agent_run", "webhook_emit", "noop"];

/// What a job read shows instead of a header value.
pub const MASKED: &str = "***";

/// The payload as job reads show it: every value of a top-level `headers` object (the
/// `http_request` headers, which may carry `Authorization` or API keys) becomes [`MASKED`].
/// Header names stay, so the creator can tell what was sent. Only reads are masked: the
/// stored row keeps the real values for the worker.
pub fn masked_payload(mut payload: Value) -> Value {
    if let Some(headers) = payload.get_mut("headers").and_then(Value::as_object_mut) {
        for value in headers.values_mut() {
            *value = Value::String(MASKED.into());
        }
    }
    payload
}

/// The id of attempt number `attempt` of job `job_id`: `<jobId>:<n>`, `n` counting from 1 as
/// attempts are claimed. An attempt handed back at shutdown is not counted, so the next one
/// reuses its number; the id is stable across a crash (it is derived, never stored).
pub fn attempt_id(job_id: &str, attempt: i64) -> String {
    format!("{job_id}:{attempt}")
}

/// Job states, as stored and filtered on.
pub const JOB_STATUSES: [&str; 5] = ["pending", "running", "completed", "failed", "cancelled"];

/// Payload of an `http_request` job (the same shape as the `http_request` tool's arguments).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequestPayload {
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    pub method: String,
    /// Absolute http(s) URL.
    pub url: String,
    /// Request headers.
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    /// A string is sent as is, anything else as JSON.
    #[serde(default)]
    pub body: Option<Value>,
}

/// Payload of an `agent_run` job.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRunPayload {
    /// Agent to run.
    pub agent_id: String,
    /// The user message.
    pub message: String,
}

/// Payload of a `webhook_emit` job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEmitPayload {
    /// A known event name.
    pub event: String,
    /// Event data.
    #[serde(default)]
    pub data: Value,
}

/// A job to enqueue, as the HTTP layer received it.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Job type.
    pub job_type: String,
    /// Payload (`{}` when absent).
    pub payload: Value,
    /// 0–10 (default 3).
    pub max_retries: Option<i64>,
    /// 1–3600 (default 300).
    pub timeout_seconds: Option<i64>,
    /// When to run (default now).
    pub run_at: Option<DateTime<Utc>>,
}

fn check_payload(job_type: &str, payload: &Value, allow_private: bool) -> ApiResult<()> {
    let prefix = |e: ApiError| match e {
        ApiError::Validation { details, .. } => {
            let mut p = Problems::new();
            if let Some(map) = details.as_object() {
                for (k, v) in map {
                    p.add(&format!("payload.{k}"), v.as_str().unwrap_or("is invalid"));
                }
            }
            p.finish()
                .err()
                .unwrap_or(ApiError::field("payload", "is invalid"))
        }
        other => other,
    };
    match job_type {
        "http_request" => {
            let p: HttpRequestPayload = from_value(payload.clone()).map_err(prefix)?;
            let method = p.method.trim().to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                .contains(&method.as_str())
            {
                return Err(ApiError::field("payload.method", "unsupported method"));
            }
            parse_outbound_url(&p.url)
                .and_then(|u| check_url(&u, allow_private))
                .map_err(|e| ApiError::field("payload.url", e.to_string()))
        }
        "agent_run" => {
            let p: AgentRunPayload = from_value(payload.clone()).map_err(prefix)?;
            let mut problems = Problems::new();
            problems.check(
                p.agent_id.is_empty() || p.agent_id.len() > 64,
                "payload.agentId",
                "must be 1-64 characters",
            );
            let len = p.message.chars().count();
            problems.check(
                len == 0 || len > 10_000,
                "payload.message",
                "must be 1-10000 characters",
            );
            problems.finish()
        }
        "webhook_emit" => {
            let p: WebhookEmitPayload = from_value(payload.clone()).map_err(prefix)?;
            if crate::webhooks::is_known_event(&p.event) {
                Ok(())
            } else {
                Err(ApiError::field("payload.event", "unknown event"))
            }
        }
        _ => Ok(()),
    }
}

impl NewJob {
    /// Validates the job and builds its row: enqueued by `user_id` in `workspace_id`.
    pub fn validate(
        self,
        workspace_id: &str,
        user_id: &str,
        allow_private: bool,
    ) -> ApiResult<JobRow> {
        let mut problems = Problems::new();
        problems.check(
            !JOB_TYPES.contains(&self.job_type.as_str()),
            "type",
            format!("must be one of {}", JOB_TYPES.join(", ")),
        );
        let max_retries = self.max_retries.unwrap_or(3);
        problems.check(
            !(0..=10).contains(&max_retries),
            "maxRetries",
            "must be 0-10",
        );
        let timeout = self.timeout_seconds.unwrap_or(300);
        problems.check(
            !(1..=3600).contains(&timeout),
            "timeoutSeconds",
            "must be 1-3600",
        );
        problems.check(!self.payload.is_object(), "payload", "must be an object");
        problems.finish()?;
        check_payload(&self.job_type, &self.payload, allow_private)?;
        let now = Utc::now();
        Ok(JobRow {
            id: new_id("job"),
            user_id: user_id.to_string(),
            workspace_id: workspace_id.to_string(),
            job_type: self.job_type,
            payload: Json(self.payload),
            status: "pending".into(),
            max_retries,
            timeout_seconds: timeout,
            attempts: 0,
            run_at: self.run_at.unwrap_or(now),
            result: None,
            error: None,
            created_at: now,
            started_at: None,
            finished_at: None,
        })
    }
}
