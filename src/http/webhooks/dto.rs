//! Request and response shapes of the `/webhooks` routes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::{DeliveryRow, WebhookRow};

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookIn {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// Event names, or `*` for all.
    pub events: Vec<String>,
    /// Free text (up to 500 characters).
    pub description: Option<String>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookIn {
    /// New URL.
    pub url: Option<String>,
    /// New event list.
    pub events: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
    /// Inactive webhooks receive no events.
    pub active: Option<bool>,
}

/// A webhook. `secret` appears only in the answer to its creation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookOut {
    /// `wh_…`
    pub id: String,
    /// Target URL.
    pub url: String,
    /// Subscribed events.
    pub events: Vec<String>,
    /// Description.
    pub description: Option<String>,
    /// Receiving events.
    pub active: bool,
    /// Workspace it is limited to (`null` = all of the owner's).
    pub workspace_id: Option<String>,
    /// Signing secret (creation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl WebhookOut {
    /// The webhook as shown; `with_secret` only in the answer to its creation.
    pub fn new(w: WebhookRow, with_secret: bool) -> Self {
        Self {
            id: w.id,
            url: w.url,
            events: w.events.0,
            description: w.description,
            active: w.active,
            workspace_id: w.workspace_id,
            secret: with_secret.then_some(w.secret),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// One delivery of one event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOut {
    /// `whd_…` (also sent as `webhook-id` and `X-Astra-Delivery`).
    pub id: String,
    /// Event name.
    pub event: String,
    /// `pending|sending|delivered|failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// HTTP status of the last attempt.
    pub response_status: Option<i64>,
    /// Problem of the last attempt.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Next attempt (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        let pending = d.status == "pending";
        Self {
            id: d.id,
            event: d.event,
            status: d.status,
            attempts: d.attempts,
            response_status: d.response_status,
            error: d.error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            next_attempt_at: pending.then_some(d.next_attempt_at),
        }
    }
}

/// The answer to a test: the queued delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryOut {
    /// `whd_…` of the queued delivery.
    pub delivery_id: String,
    /// Always `webhook.test`.
    pub event: String,
    /// Always `pending`.
    pub status: String,
}

/// The answer to a secret rotation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecretOut {
    /// The new signing secret (`whsec_…`), shown only here.
    pub secret: String,
}
