//! The delivery worker: claims due outbox rows and POSTs them, signed — webhook deliveries to
//! their endpoints (with the endpoint's secret) and `webhookUrl` chat replies to their URL (with
//! the owner's reply key, read at send time). Both kinds share the claim (attempt counted, row
//! leased), the send, the outcome rules (retry with backoff up to [`MAX_ATTEMPTS`]; a 4xx other
//! than 408/429 or a refused URL is final) and the stored outcome. On shutdown the tick in
//! progress is finished and nothing more is claimed; a send cut by a crash comes back when its
//! lease ends, under the same delivery id.

use std::time::Duration;

use chrono::Utc;
use futures_util::future::{join, join_all};

use super::{MAX_ATTEMPTS, signature_headers, signing_key};
use crate::{
    config::Config,
    net::{check_url, guarded_client, parse_outbound_url},
    poll::backoff,
    store::{DeliveryOutcome, DeliveryRow, ReplyDeliveryRow, Store, WebhookRow},
};

/// Deliveries claimed per poll.
const BATCH: i64 = 16;
/// Time limit of one POST.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends claimed deliveries (cheap to clone: the HTTP client and the pool are shared).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    store: Store,
    /// `ASTRA_ALLOW_PRIVATE_URLS`: whether endpoints may be private addresses.
    allow_private_urls: bool,
    /// First retry delay, doubled per attempt.
    retry_base: Duration,
    /// How long a rotated-out secret still signs.
    rotation_overlap: Duration,
}

/// What one POST sends: the row's id (the `webhook-id`), event and fixed body.
struct Message<'a> {
    id: &'a str,
    event: &'a str,
    body: &'a str,
}

/// What one POST came back with.
enum Attempt {
    Delivered(u16),
    /// Retrying cannot help (a 4xx other than 408/429, or a refused URL).
    Final(Option<u16>, String),
    Retry(Option<u16>, String),
}

impl Sender {
    /// Builds the guarded HTTP client; the settings come from `config`.
    pub fn new(store: &Store, config: &Config) -> anyhow::Result<Self> {
        let client = guarded_client(config.allow_private_urls, SEND_TIMEOUT)
            .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?;
        Ok(Self {
            client,
            store: store.clone(),
            allow_private_urls: config.allow_private_urls,
            retry_base: config.webhook_retry_base,
            rotation_overlap: config.webhook_rotation_overlap,
        })
    }

    /// One poll: claims a batch of webhook deliveries and one of replies and sends them;
    /// true when a batch was full.
    pub async fn tick(&self) -> anyhow::Result<bool> {
        let now = Utc::now();
        // The lease outlives one POST comfortably; an expired one means the sender died.
        let lease = now + chrono::Duration::seconds(60);
        let hooks = self
            .store
            .webhooks()
            .claim_deliveries(now, lease, BATCH)
            .await?;
        // Replies of turns a dead process was running become due as the error they hold.
        let released = self.store.reply_deliveries().release_interrupted(now);
        match released.await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                replies = n,
                "webhookUrl replies of interrupted turns sent as errors"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not release interrupted webhookUrl replies")
            }
        }
        // What was claimed is sent even when the second claim fails.
        let (replies, reply_claim) =
            match self.store.reply_deliveries().claim(now, lease, BATCH).await {
                Ok(rows) => (rows, Ok(())),
                Err(e) => (Vec::new(), Err(e)),
            };
        let full = hooks.len() as i64 == BATCH || replies.len() as i64 == BATCH;
        join(
            join_all(hooks.into_iter().map(|d| self.deliver(d))),
            join_all(replies.into_iter().map(|r| self.deliver_reply(r))),
        )
        .await;
        reply_claim?;
        Ok(full)
    }

    async fn deliver(&self, d: DeliveryRow) {
        let attempt = match self.store.webhooks().webhook_by_id(&d.webhook_id).await {
            Ok(Some(hook)) => {
                let secrets = secrets_in_force(&hook, self.rotation_overlap);
                self.post(&hook.url, &secrets, &message(&d.id, &d.event, &d.body))
                    .await
            }
            // Deleting a webhook deletes its deliveries; this one raced the delete.
            Ok(None) => Attempt::Final(None, "webhook was deleted".into()),
            Err(e) => Attempt::Retry(None, format!("database: {e}")),
        };
        let outcome = self.outcome(attempt, d.attempts);
        tracing::info!(delivery = %d.id, event = %d.event, attempt = d.attempts, status = outcome.status, "webhook delivery attempt");
        if let Err(e) = self
            .store
            .webhooks()
            .finish_delivery(&d.id, d.attempts, &outcome)
            .await
        {
            tracing::warn!(delivery = %d.id, error = %e, "could not store a webhook delivery outcome");
        }
    }

    /// Sends a `webhookUrl` reply signed with its owner's key as it is now.
    async fn deliver_reply(&self, d: ReplyDeliveryRow) {
        let attempt = match signing_key(&self.store, &d.user_id).await {
            Ok(key) => {
                self.post(&d.url, &[&key.secret], &message(&d.id, &d.event, &d.body))
                    .await
            }
            Err(e) => Attempt::Retry(None, format!("database: {e}")),
        };
        let outcome = self.outcome(attempt, d.attempts);
        tracing::info!(delivery = %d.id, session_id = %d.session_id, attempt = d.attempts, status = outcome.status, "webhookUrl reply attempt");
        if let Err(e) = (self.store.reply_deliveries())
            .finish(&d.id, d.attempts, &outcome)
            .await
        {
            tracing::warn!(delivery = %d.id, error = %e, "could not store a reply delivery outcome");
        }
    }

    /// What attempt number `attempts` leads to: delivered, failed for good, or retried after
    /// the backoff (failed once the attempts are spent).
    fn outcome(&self, attempt: Attempt, attempts: i64) -> DeliveryOutcome {
        let now = Utc::now();
        match attempt {
            Attempt::Delivered(status) => DeliveryOutcome {
                status: "delivered",
                response_status: Some(i64::from(status)),
                error: None,
                next_attempt_at: now,
                delivered_at: Some(now),
            },
            Attempt::Final(status, error) => failed(status, error, now),
            Attempt::Retry(status, error) if attempts >= MAX_ATTEMPTS => failed(status, error, now),
            Attempt::Retry(status, error) => DeliveryOutcome {
                status: "pending",
                response_status: status.map(i64::from),
                error: Some(error),
                next_attempt_at: now + backoff(self.retry_base, attempts),
                delivered_at: None,
            },
        }
    }

    async fn post(&self, url: &str, secrets: &[&str], d: &Message<'_>) -> Attempt {
        let url = match parse_outbound_url(url)
            .and_then(|u| check_url(&u, self.allow_private_urls).map(|()| u))
        {
            Ok(u) => u,
            Err(e) => return Attempt::Final(None, e.to_string()),
        };
        let timestamp = Utc::now().timestamp();
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "Astra-Webhooks/1")
            .header("x-astra-event", d.event)
            .header("x-astra-delivery", d.id);
        // The delivery id is the `webhook-id`: stable across retries, so receivers deduplicate.
        for (name, value) in signature_headers(d.id, timestamp, d.body, secrets) {
            request = request.header(name, value);
        }
        let result = request.body(d.body.to_string()).send().await;
        match result {
            Ok(r) if r.status().is_success() => Attempt::Delivered(r.status().as_u16()),
            Ok(r) => {
                let code = r.status().as_u16();
                let error = format!("endpoint answered HTTP {code}");
                if r.status().is_client_error() && code != 408 && code != 429 {
                    Attempt::Final(Some(code), error)
                } else {
                    Attempt::Retry(Some(code), error)
                }
            }
            // A destination the guard refuses stays refused: no point retrying.
            Err(e) => match crate::net::find_guard_error(&e) {
                Some(guard) => Attempt::Final(None, guard.to_string()),
                None => Attempt::Retry(None, transport_error(e)),
            },
        }
    }
}

fn message<'a>(id: &'a str, event: &'a str, body: &'a str) -> Message<'a> {
    Message { id, event, body }
}

/// The hook's secret, then the one its last rotation replaced while that is within `overlap`.
fn secrets_in_force(hook: &WebhookRow, overlap: Duration) -> Vec<&str> {
    let mut secrets = vec![hook.secret.as_str()];
    let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::MAX);
    if let (Some(previous), Some(at)) = (&hook.previous_secret, hook.secret_rotated_at)
        && at
            .checked_add_signed(overlap)
            .is_none_or(|end| end > Utc::now())
    {
        secrets.push(previous);
    }
    secrets
}

fn failed(status: Option<u16>, error: String, now: chrono::DateTime<Utc>) -> DeliveryOutcome {
    DeliveryOutcome {
        status: "failed",
        response_status: status.map(i64::from),
        error: Some(error),
        next_attempt_at: now,
        delivered_at: None,
    }
}

/// A short cause without the URL's query (which may carry tokens).
fn transport_error(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        e.without_url().to_string()
    }
}
