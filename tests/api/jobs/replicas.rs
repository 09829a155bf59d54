//! Two gateways sharing one database: every job runs exactly once.

use reqwest::Method;
use serde_json::json;

use crate::{
    helpers::spawn_app,
    webhooks::receiver::{Receiver, eventually},
};

#[tokio::test]
async fn two_replicas_never_run_a_job_twice() {
    let rx = Receiver::start().await;
    let app = spawn_app().await;
    // A second replica on the same database, with its own workers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let replica = tokio::spawn(astra::run(app.config.clone(), listener, async move {
        let _ = stopped.await;
    }));
    let (token, _, _) = app.register("replicas@example.com").await;
    let ws = app.workspace(&token, "R").await;
    let n = 24;
    for i in 0..n {
        app.send_ws(Method::POST, "/jobs", &token, &ws, Some(json!({
            "type": "http_request", "payload": {"method": "GET", "url": rx.url(&format!("/job/{i}"))}
        })))
        .await
        .expect(201);
    }
    eventually(|| async {
        let r = app
            .get_in("/jobs?status=completed&limit=1", &token, &ws)
            .await
            .expect(200);
        (r.body["total"] == n).then_some(())
    })
    .await;
    let mut paths: Vec<String> = rx.captured().into_iter().map(|c| c.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), n);
    assert_eq!(rx.captured().len(), n, "a job ran twice");
    let _ = stop.send(());
    replica.await.unwrap().unwrap();
}
