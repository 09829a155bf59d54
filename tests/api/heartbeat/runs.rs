//! The scheduler: HTTP checks pass and fail against local servers, failures and recoveries
//! reach webhooks, RSS feeds are parsed with new items reported, runs are paginated.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, User, spawn_app},
    webhooks::receiver::{Receiver, eventually},
};

/// A user with a workspace, and the calls these tests repeat.
struct Monitors {
    app: TestApp,
    user: User,
}

async fn ctx() -> Monitors {
    let app = spawn_app().await;
    let user = app.user_with_workspace().await;
    Monitors { app, user }
}

impl Monitors {
    async fn create(&self, body: Value) -> String {
        self.app
            .post_as(&self.user, "/heartbeat", body)
            .await
            .expect(201)
            .id()
    }

    async fn runs(&self, id: &str, query: &str) -> Value {
        self.app
            .get_as(&self.user, &format!("/heartbeat/{id}/runs{query}"))
            .await
            .expect(200)
            .body
    }

    /// Waits until the monitor has `n` runs; returns the newest.
    async fn run_number(&self, id: &str, n: u64) -> Value {
        eventually(|| async {
            let r = self.runs(id, "").await;
            // The page and the total are two reads; a run may land between them.
            let seen = r["total"].as_u64().unwrap() >= n
                && r["items"].as_array().unwrap().len() as u64 >= n.min(20);
            seen.then(|| r["items"][0].clone())
        })
        .await
    }

    /// Disables and re-enables the monitor, which makes it due at once.
    async fn rerun(&self, id: &str) {
        let path = format!("/heartbeat/{id}");
        for enabled in [false, true] {
            self.app
                .send_ws(
                    Method::PATCH,
                    &path,
                    &self.user.token,
                    &self.user.ws,
                    Some(json!({"enabled": enabled})),
                )
                .await
                .expect(200);
        }
    }
}

#[tokio::test]
async fn an_http_monitor_fails_recovers_and_tells_webhooks() {
    let site = Receiver::start().await;
    site.always_answer(503);
    let events = Receiver::start().await;
    let c = ctx().await;
    c.app
        .post(
            "/webhooks",
            &c.user.token,
            json!({"url": events.url("/e"), "events": ["heartbeat.failed", "heartbeat.recovered"]}),
        )
        .await
        .expect(201);
    let id = c
        .create(json!({"name": "site", "type": "http", "url": site.url("/health"), "intervalMinutes": 5}))
        .await;
    let run = c.run_number(&id, 1).await;
    assert_eq!(run["status"], "error");
    assert_eq!(run["detail"]["httpStatus"], 503);
    assert!(run["latencyMs"].is_number() && run["startedAt"].is_string());
    let got = events.wait_for(1).await;
    assert_eq!(got[0].json()["event"], "heartbeat.failed");
    assert_eq!(got[0].json()["data"]["monitorId"], id.as_str());

    site.always_answer(200);
    c.rerun(&id).await;
    let run = c.run_number(&id, 2).await;
    assert_eq!(run["status"], "ok");
    assert_eq!(run["detail"]["httpStatus"], 200);
    let got = events.wait_for(2).await;
    assert_eq!(got[1].json()["event"], "heartbeat.recovered");

    // ok → ok: no event.
    c.rerun(&id).await;
    c.run_number(&id, 3).await;
    let list = c
        .app
        .get_in("/heartbeat", &c.user.token, &c.user.ws)
        .await
        .expect(200);
    assert_eq!(list.body["items"][0]["lastStatus"], "ok");
    assert!(list.body["items"][0]["lastRunAt"].is_string());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events.captured().len(), 2);
    // Runs are paginated, newest first.
    let page = c.runs(&id, "?limit=2").await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][1]["status"], "ok");
    let page = c.runs(&id, "?limit=2&offset=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["status"], "error");
    assert_eq!(page["offset"], 2);
}

#[tokio::test]
async fn a_slow_endpoint_times_out() {
    let site = Receiver::start().await;
    site.delay(Duration::from_secs(3));
    let c = ctx().await;
    let id = c
        .create(json!({"name": "slow", "type": "http", "url": site.url("/"), "intervalMinutes": 5, "config": {"timeoutMs": 200}}))
        .await;
    let run = c.run_number(&id, 1).await;
    assert_eq!(run["status"], "error");
    assert!(
        run["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{run}"
    );
}

fn feed(items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, title)| {
            format!("<item><title>{title}</title><link>https://example.com/{guid}</link><guid>{guid}</guid></item>")
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><link>https://example.com</link><description>d</description>{items}</channel></rss>"#
    )
}

#[tokio::test]
async fn an_rss_monitor_reports_new_items() {
    let site = Receiver::start().await;
    site.serve_body(
        &feed(&[("a1", "First"), ("a2", "Second")]),
        "application/rss+xml",
    );
    let c = ctx().await;
    let id = c
        .create(json!({"name": "news", "type": "rss", "url": site.url("/feed.xml"), "intervalMinutes": 60}))
        .await;
    let run = c.run_number(&id, 1).await;
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["detail"]["itemCount"], 2);
    assert_eq!(run["detail"]["newItems"], 2);
    assert_eq!(run["detail"]["feedTitle"], "News");

    site.serve_body(
        &feed(&[("a3", "Third"), ("a1", "First"), ("a2", "Second")]),
        "application/rss+xml",
    );
    c.rerun(&id).await;
    let run = c.run_number(&id, 2).await;
    assert_eq!(run["detail"]["itemCount"], 3);
    assert_eq!(run["detail"]["newItems"], 1);
    assert_eq!(run["detail"]["items"][0]["id"], "a3");
    assert_eq!(run["detail"]["items"][0]["title"], "Third");
    assert_eq!(run["detail"]["items"][0]["link"], "https://example.com/a3");

    // Not a feed: the run fails.
    site.serve_body("<html>nope</html>", "text/html");
    c.rerun(&id).await;
    let run = c.run_number(&id, 3).await;
    assert_eq!(run["status"], "error");
    assert!(
        run["detail"]["error"].as_str().unwrap().contains("feed"),
        "{run}"
    );
}

#[tokio::test]
async fn a_disabled_monitor_does_not_run() {
    let site = Receiver::start().await;
    let c = ctx().await;
    let id = c
        .create(json!({"name": "off", "type": "http", "url": site.url("/"), "intervalMinutes": 5, "enabled": false}))
        .await;
    // A second, enabled monitor runs, so the scheduler has polled meanwhile.
    let on = c
        .create(json!({"name": "on", "type": "http", "url": site.url("/on"), "intervalMinutes": 5}))
        .await;
    c.run_number(&on, 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(c.runs(&id, "").await["total"], 0);
    assert!(site.captured().iter().all(|r| r.path == "/on"));
}
