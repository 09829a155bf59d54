//! Endpoint operations behind the `/webhooks` routes. Every lookup is scoped to the owner;
//! the HTTP layer has already checked URLs and event names.

use chrono::Utc;
use sqlx::types::Json;

use crate::{
    error::{ApiError, ApiResult},
    page::Page,
    store::{DeliveryRow, Store, WebhookRow, ids::new_id},
};

/// A webhook to register.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Target URL (checked).
    pub url: String,
    /// Event names or `*` (checked).
    pub events: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

/// Changes to a webhook; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct WebhookChanges {
    /// New URL (checked).
    pub url: Option<String>,
    /// New event list (checked).
    pub events: Option<Vec<String>>,
    /// New description.
    pub description: Option<String>,
    /// Receive events or not.
    pub active: Option<bool>,
}

/// The events without repeats, first occurrence kept.
fn dedup(events: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Stores a new active webhook of `user_id` with a fresh signing secret, limited to
/// `workspace_id` when given.
pub async fn create(
    store: &Store,
    user_id: &str,
    workspace_id: Option<String>,
    hook: NewWebhook,
) -> ApiResult<WebhookRow> {
    let now = Utc::now();
    let row = WebhookRow {
        id: new_id("wh"),
        user_id: user_id.to_string(),
        workspace_id,
        url: hook.url.trim().to_string(),
        events: Json(dedup(hook.events)),
        description: hook.description,
        secret: super::new_secret(),
        previous_secret: None,
        secret_rotated_at: None,
        active: true,
        created_at: now,
        updated_at: now,
    };
    store.webhooks().insert_webhook(&row).await?;
    Ok(row)
}

/// One page of the owner's webhooks (of one workspace when given), with the total.
pub async fn list(
    store: &Store,
    user_id: &str,
    workspace_id: Option<&str>,
    page: Page,
) -> ApiResult<(Vec<WebhookRow>, i64)> {
    Ok(store
        .webhooks()
        .webhooks_of(user_id, workspace_id, page.limit, page.offset)
        .await?)
}

/// A webhook of the owner; 404 when there is none.
pub async fn get(store: &Store, user_id: &str, id: &str) -> ApiResult<WebhookRow> {
    store
        .webhooks()
        .webhook(user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook"))
}

/// Applies `changes` to a webhook of the owner and saves it.
pub async fn update(
    store: &Store,
    user_id: &str,
    id: &str,
    changes: WebhookChanges,
) -> ApiResult<WebhookRow> {
    let mut hook = get(store, user_id, id).await?;
    if let Some(url) = changes.url {
        hook.url = url.trim().to_string();
    }
    if let Some(events) = changes.events {
        hook.events = Json(dedup(events));
    }
    if let Some(d) = changes.description {
        hook.description = Some(d);
    }
    if let Some(active) = changes.active {
        hook.active = active;
    }
    hook.updated_at = Utc::now();
    // Deleted between the read and the write.
    if !store.webhooks().update_webhook(&hook).await? {
        return Err(ApiError::not_found("Webhook"));
    }
    Ok(hook)
}

/// Gives a webhook of the owner a new secret and returns it; the replaced one keeps signing
/// during the overlap window, so receivers can switch without missing a delivery.
pub async fn rotate_secret(store: &Store, user_id: &str, id: &str) -> ApiResult<String> {
    let secret = super::new_secret();
    if store
        .webhooks()
        .rotate_secret(user_id, id, &secret, Utc::now())
        .await?
    {
        Ok(secret)
    } else {
        Err(ApiError::not_found("Webhook"))
    }
}

/// Deletes a webhook of the owner with its delivery history.
pub async fn delete(store: &Store, user_id: &str, id: &str) -> ApiResult<()> {
    if store.webhooks().delete_webhook(user_id, id).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("Webhook"))
    }
}

/// One page of a webhook's deliveries, newest first, with the total.
pub async fn deliveries(
    store: &Store,
    user_id: &str,
    id: &str,
    page: Page,
) -> ApiResult<(Vec<DeliveryRow>, i64)> {
    let hook = get(store, user_id, id).await?;
    Ok(store
        .webhooks()
        .deliveries_of(&hook.id, page.limit, page.offset)
        .await?)
}

/// Queues a `webhook.test` event for a webhook of the owner; returns the delivery id.
pub async fn send_test(store: &Store, user_id: &str, id: &str) -> ApiResult<String> {
    let hook = get(store, user_id, id).await?;
    Ok(super::enqueue_test(store, &hook).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_the_first_of_each() {
        let got = dedup(vec!["a".into(), "b".into(), "a".into()]);
        assert_eq!(got, vec!["a".to_string(), "b".to_string()]);
    }
}
