//! Two gateways as two replicas of one cluster: the same database and the same Redis key
//! prefix (the real Redis at `ASTRA_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`; `off`
//! skips these tests with a note). What one replica does is seen through the other: its open
//! streams and busy agents in `/admin/health`'s cluster view, its cached tool results, their
//! stats and their clearing.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use astra::{Config, config::Secret};
use axum::{Router, routing::get};
use serde_json::{Value, json};

use crate::helpers::{
    Answer, FakeLlm, TestApp, chat_app_with, has_tool_result, last_user_text, spawn_app_with,
    use_fake,
};

/// The test Redis, or `None` (with a note) when `ASTRA_TEST_REDIS_URL=off`.
#[allow(clippy::print_stderr)]
fn redis_url(test: &str) -> Option<String> {
    let url =
        std::env::var("ASTRA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    if url == "off" {
        eprintln!("note: ASTRA_TEST_REDIS_URL=off, skipping the Redis test {test}");
        return None;
    }
    Some(url)
}

/// Makes `config` replica `replica` of the cluster under `prefix`.
fn join(config: &mut Config, url: &str, prefix: &str, replica: &str) {
    config.cluster.redis_url = Some(Secret::new(url));
    config.cluster.prefix = prefix.to_string();
    config.cluster.replica_id = replica.to_string();
    config.cluster.timeout = Duration::from_secs(2);
}

fn unique_prefix(test: &str) -> String {
    format!("astra-test:{test}:{}:", uuid::Uuid::now_v7().simple())
}

/// Polls `/admin/health` of `app` until `ok` holds for it (10 s at most); returns it.
async fn health_until(app: &TestApp, ok: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let h = app.key_get("/admin/health").await.expect(200).body;
        if ok(&h) || started.elapsed() > Duration::from_secs(10) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A stream open on replica `a` is counted (with its busy agent) by `b`'s cluster view, not
/// by `b`'s own figures, and leaves both when it ends.
#[tokio::test]
async fn streams_and_busy_agents_on_one_replica_are_counted_by_the_other() {
    let Some(url) = redis_url("streams") else {
        return;
    };
    let prefix = unique_prefix("streams");
    // Four chunks 800 ms apart: the stream stays open (and the agent busy) for ~3 s.
    let fake = FakeLlm::start(|_, _| {
        Answer::chunks(&["one ", "two ", "three ", "four"]).slow(Duration::from_millis(800))
    })
    .await;
    let a = chat_app_with(&fake, |c| join(c, &url, &prefix, "a")).await;
    let b = spawn_app_with(|c| join(c, &url, &prefix, "b")).await;
    let idle = health_until(&b, |h| h["cluster"]["replicas"] == json!(["a", "b"])).await;
    assert_eq!(idle["cluster"]["replicas"], json!(["a", "b"]), "{idle}");
    assert_eq!(idle["cluster"]["openStreams"], 0, "{idle}");

    let stream = a.stream(json!({ "message": "count slowly" }));
    let watch = async {
        let busy = health_until(&b, |h| {
            h["cluster"]["openStreams"] == 1 && h["cluster"]["busyAgents"] == 1
        })
        .await;
        // b's own figures stay its own.
        (busy, b.key_get("/admin/health").await.expect(200).body)
    };
    let ((status, events), (busy, own)) = tokio::join!(stream, watch);
    assert_eq!(status, 200);
    assert!(events.iter().any(|(name, _)| name == "done"), "{events:?}");
    assert_eq!(busy["cluster"]["openStreams"], 1, "{busy}");
    assert_eq!(busy["cluster"]["busyAgents"], 1, "{busy}");
    assert_eq!(own["openStreams"], 0, "{own}");
    assert_eq!(own["busyAgents"], 0, "{own}");

    let after = health_until(&b, |h| {
        h["cluster"]["openStreams"] == 0 && h["cluster"]["busyAgents"] == 0
    })
    .await;
    assert_eq!(after["cluster"]["openStreams"], 0, "{after}");
    assert_eq!(after["cluster"]["busyAgents"], 0, "{after}");
    // An ordered shutdown withdraws a replica's figures at once.
    a.app.stop().await;
    let gone = health_until(&b, |h| h["cluster"]["replicas"] == json!(["b"])).await;
    assert_eq!(gone["cluster"]["replicas"], json!(["b"]), "{gone}");
}

/// A page fetched through replica `a` answers the same call on `b` from the shared cache (the
/// page is fetched once); `b`'s stats show the entry and both lookups; clearing on `b` clears
/// it for `a`.
#[tokio::test]
async fn a_tool_result_cached_by_one_replica_answers_the_other() {
    let Some(url) = redis_url("tool-cache") else {
        return;
    };
    let prefix = unique_prefix("tool-cache");
    let fetched = Arc::new(AtomicUsize::new(0));
    let counter = fetched.clone();
    let page = Router::new().route(
        "/page",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "<title>Shared</title>one page for the cluster" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_url = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, page).await.unwrap() });
    let fake = FakeLlm::start(|req, _| {
        if has_tool_result(req) {
            Answer::text("read it")
        } else {
            Answer::tool("fetch_page", json!({ "url": last_user_text(req) }))
        }
    })
    .await;
    let a = chat_app_with(&fake, |c| join(c, &url, &prefix, "a")).await;
    // b: the same database (and JWT secret), so a's user and workspace work there.
    let (db_url, data_dir) = (a.app.config.database_url.clone(), a.app.db.data_dir.clone());
    let b = spawn_app_with(|c| {
        use_fake(c, &fake);
        join(c, &url, &prefix, "b");
        c.database_url = db_url;
        c.data_dir = data_dir;
    })
    .await;

    // Each turn in a session of its own: the model calls the tool when no result is in view.
    a.chat(json!({ "message": page_url, "surfaceId": "on-a" }))
        .await
        .expect(200);
    assert_eq!(fetched.load(Ordering::SeqCst), 1);
    let r = b
        .chat_in(
            &a.token,
            &a.ws,
            json!({ "message": page_url, "surfaceId": "on-b" }),
        )
        .await
        .expect(200);
    assert_eq!(
        fetched.load(Ordering::SeqCst),
        1,
        "b fetched again: {}",
        r.text
    );

    let stats = b
        .send_ws(
            reqwest::Method::GET,
            "/skills/cache/stats",
            &a.token,
            &a.ws,
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(stats["entries"], 1, "{stats}");
    assert_eq!(stats["hits"], 1, "{stats}");
    assert_eq!(stats["misses"], 1, "{stats}");
    assert_eq!(stats["byTool"]["fetch_page"]["entries"], 1, "{stats}");
    let cleared = b
        .send_ws(
            reqwest::Method::POST,
            "/skills/cache/clear",
            &a.token,
            &a.ws,
            Some(json!({})),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cleared["cleared"], 1, "{cleared}");
    let stats = a.app.get("/skills/cache/stats", &a.token).await.expect(200);
    assert_eq!(stats.body["entries"], 0, "{}", stats.text);
    // Cleared on every replica: a fetches the page again.
    a.chat(json!({ "message": page_url, "surfaceId": "again" }))
        .await
        .expect(200);
    assert_eq!(fetched.load(Ordering::SeqCst), 2);
}
