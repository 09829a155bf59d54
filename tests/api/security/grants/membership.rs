//! Membership changes take effect on the very next request (even while the member's other
//! requests keep the role cache busy), concurrent owner demotions keep an owner, and jobs and
//! monitors of a removed member stop running as that member.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use reqwest::Method;
use serde_json::json;

use crate::{
    helpers::{TestApp, spawn_app},
    webhooks::receiver::{Receiver, eventually},
};

/// Rounds of each race; enough for the old ordering (forget, then write) to lose at least once.
const ROUNDS: usize = 12;
const HAMMERS: usize = 4;

/// Keeps `token` busy reading `/agents` in `ws` (which admits through the role cache) until
/// the returned flag is set.
fn hammer(
    app: &TestApp,
    token: &str,
    ws: &str,
) -> (Arc<AtomicBool>, Vec<tokio::task::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = (0..HAMMERS)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/agents"));
            let (token, ws, stop) = (token.to_string(), ws.to_string(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let _ = client
                        .get(&url)
                        .bearer_auth(&token)
                        .header("x-workspace-id", &ws)
                        .send()
                        .await;
                }
            })
        })
        .collect();
    (stop, tasks)
}

async fn stop(flag: Arc<AtomicBool>, tasks: Vec<tokio::task::JoinHandle<()>>) {
    flag.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
}

async fn add(app: &TestApp, ws: &str, owner: &str, uid: &str, role: &str) -> u16 {
    app.post(
        &format!("/workspaces/{ws}/members"),
        owner,
        json!({"uid": uid, "role": role}),
    )
    .await
    .status
}

#[tokio::test]
async fn a_removed_member_is_refused_on_the_very_next_request() {
    let app = spawn_app().await;
    let (owner, _, _) = app.register("rm-owner@example.com").await;
    let ws = app.workspace(&owner, "RM").await;
    for round in 0..ROUNDS {
        let (token, uid, _) = app.register(&format!("rm-{round}@example.com")).await;
        assert_eq!(add(&app, &ws, &owner, &uid, "member").await, 201);
        app.send_ws(Method::GET, "/agents", &token, &ws, None)
            .await
            .expect(200);
        let (flag, tasks) = hammer(&app, &token, &ws);
        tokio::time::sleep(Duration::from_millis(5)).await;
        app.delete(&format!("/workspaces/{ws}/members/{uid}"), &owner)
            .await
            .expect(204);
        let next = app.send_ws(Method::GET, "/agents", &token, &ws, None).await;
        stop(flag, tasks).await;
        assert_eq!(next.status, 403, "round {round}: {}", next.text);
    }
}

#[tokio::test]
async fn a_demoted_admin_loses_write_on_the_very_next_request() {
    let app = spawn_app().await;
    let (owner, _, _) = app.register("dm-owner@example.com").await;
    let ws = app.workspace(&owner, "DM").await;
    let (token, uid, _) = app.register("dm-admin@example.com").await;
    for round in 0..ROUNDS {
        assert!(matches!(
            add(&app, &ws, &owner, &uid, "admin").await,
            200 | 201
        ));
        app.send_ws(Method::GET, "/agents", &token, &ws, None)
            .await
            .expect(200);
        let (flag, tasks) = hammer(&app, &token, &ws);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(add(&app, &ws, &owner, &uid, "member").await, 200);
        let body = json!({"id": format!("a{round}"), "displayName": "A",
            "model": {"provider": "openai", "modelId": "gpt-4o-mini"}, "systemPromptTemplate": "x"});
        let next = app
            .send_ws(Method::POST, "/agents", &token, &ws, Some(body))
            .await;
        stop(flag, tasks).await;
        assert_eq!(next.status, 403, "round {round}: {}", next.text);
    }
}

/// The caller's role in `ws`, or `None` when not a member.
async fn role(app: &TestApp, ws: &str, token: &str) -> Option<String> {
    let r = app.get(&format!("/workspaces/{ws}"), token).await;
    (r.status == 200).then(|| r.body["yourRole"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn concurrent_owner_demotions_and_departures_always_leave_an_owner() {
    let app = spawn_app().await;
    let (o1, id1, _) = app.register("race-o1@example.com").await;
    let (o2, id2, _) = app.register("race-o2@example.com").await;
    for round in 0..ROUNDS {
        let ws = app.workspace(&o1, &format!("Race {round}")).await;
        assert_eq!(add(&app, &ws, &o1, &id2, "owner").await, 201);
        let members = format!("/workspaces/{ws}/members");
        // Each owner demotes the other, and each demotes themselves, all at once.
        let (a, b, c, d) = tokio::join!(
            app.post(&members, &o1, json!({"uid": id2, "role": "member"})),
            app.post(&members, &o2, json!({"uid": id1, "role": "member"})),
            app.post(&members, &o1, json!({"uid": id1, "role": "admin"})),
            app.post(&members, &o2, json!({"uid": id2, "role": "admin"})),
        );
        for r in [&a, &b, &c, &d] {
            assert!(matches!(r.status, 200 | 403 | 409), "{}", r.text);
        }
        let roles = (role(&app, &ws, &o1).await, role(&app, &ws, &o2).await);
        assert!(
            roles.0.as_deref() == Some("owner") || roles.1.as_deref() == Some("owner"),
            "round {round}: no owner left: {roles:?}"
        );
        // Both owners leave at once (after making sure both are owners again).
        let ws = app.workspace(&o1, &format!("Leave {round}")).await;
        assert_eq!(add(&app, &ws, &o1, &id2, "owner").await, 201);
        let (leave1, leave2) = (
            format!("/workspaces/{ws}/members/{id1}"),
            format!("/workspaces/{ws}/members/{id2}"),
        );
        let (a, b) = tokio::join!(app.delete(&leave1, &o1), app.delete(&leave2, &o2));
        assert!(
            matches!((a.status, b.status), (204, 409) | (409, 204)),
            "{} / {}",
            a.text,
            b.text
        );
    }
}

#[tokio::test]
async fn jobs_and_monitors_of_a_removed_member_do_not_run_as_that_member() {
    let app = spawn_app().await;
    let target = Receiver::start().await;
    let (owner, _, _) = app.register("bg-owner@example.com").await;
    let (member, uid, _) = app.register("bg-member@example.com").await;
    let ws = app.workspace(&owner, "BG").await;
    assert_eq!(add(&app, &ws, &owner, &uid, "member").await, 201);
    let run_at = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let job = app
        .send_ws(
            Method::POST,
            "/jobs",
            &member,
            &ws,
            Some(json!({
                "type": "http_request", "runAt": run_at, "maxRetries": 3,
                "payload": {"method": "GET", "url": target.url("/job")},
            })),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let monitor = app
        .send_ws(
            Method::POST,
            "/heartbeat",
            &member,
            &ws,
            Some(json!({
                "name": "m", "type": "http", "url": target.url("/monitor"), "intervalMinutes": 5,
                "enabled": false,
            })),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/workspaces/{ws}/members/{uid}"), &owner)
        .await
        .expect(204);
    // The owner turns the monitor on: it is due at once, but its creator is gone.
    app.send_ws(
        Method::PATCH,
        &format!("/heartbeat/{monitor}"),
        &owner,
        &ws,
        Some(json!({"enabled": true})),
    )
    .await
    .expect(200);

    let job = eventually(|| async {
        let j = app
            .send_ws(Method::GET, &format!("/jobs/{job}"), &owner, &ws, None)
            .await
            .expect(200)
            .body;
        (j["status"] == "failed").then_some(j)
    })
    .await;
    let error = job["error"].as_str().unwrap();
    assert!(error.contains("no longer a member"), "{job}");
    assert_eq!(job["attempts"], 1, "not retried: {job}");

    let run = eventually(|| async {
        let r = app
            .send_ws(
                Method::GET,
                &format!("/heartbeat/{monitor}/runs"),
                &owner,
                &ws,
                None,
            )
            .await
            .expect(200)
            .body;
        (r["total"] == 1).then(|| r["items"][0].clone())
    })
    .await;
    assert_eq!(run["status"], "error");
    assert!(
        run["detail"]["error"]
            .as_str()
            .unwrap()
            .contains("no longer a member"),
        "{run}"
    );
    let list = app
        .send_ws(Method::GET, "/heartbeat", &owner, &ws, None)
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"][0]["enabled"], false, "{list}");
    // Nothing was sent on the removed member's behalf.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        target.captured().is_empty(),
        "{:?}",
        target.captured().len()
    );
}
