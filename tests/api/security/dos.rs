//! Denial of service, with bounded and measured cost: adversarial pages through `fetch_page`,
//! slow clients, load shedding, `/metrics` cost and money, per-workspace tool cache, and the
//! retention of tables that grow with every request.

use crate::helpers::{
    Answer, ChatApp, FakeLlm, chat_app, chat_app_with, has_tool_result, last_user_text,
};
use std::time::{Duration, Instant};

use astra::retention::{RetentionConfig, run_once};
use axum::{Router, http::header, response::IntoResponse, routing::get};
use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::types::Json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{TEST_INTERNAL_KEY, spawn_app, spawn_app_with};

const TWO_MIB: usize = 2 * 1024 * 1024;

/// Pages that made the old extractor quadratic or deep: `(path, body)`.
fn adversarial_pages() -> Vec<(&'static str, String)> {
    vec![
        ("/amp", "&".repeat(TWO_MIB)),
        ("/amp-hash", "&#".repeat(TWO_MIB / 2)),
        ("/lt", "<".repeat(TWO_MIB)),
        ("/nested", "<div>".repeat(TWO_MIB / 5)),
        ("/entities", "&amp".repeat(TWO_MIB / 4)),
    ]
}

/// Serves every adversarial page as `text/html`; returns the base URL.
async fn serve_pages() -> String {
    let mut app = Router::new();
    for (path, body) in adversarial_pages() {
        app = app.route(
            path,
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "text/html")], body).into_response() }
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A fake model that fetches the URL the user sent, then answers.
async fn fetching_llm() -> FakeLlm {
    FakeLlm::start(|req, _| {
        if has_tool_result(req) {
            Answer::text("read it")
        } else {
            Answer::tool("fetch_page", json!({ "url": last_user_text(req) }))
        }
    })
    .await
}

/// Each 2 MiB adversarial page goes through a whole chat turn (model → `fetch_page` → model)
/// within the bound, and the gateway answers other requests meanwhile. The old entity
/// decoder took minutes on `&` runs, on a runtime worker where no timeout could stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn adversarial_pages_are_read_in_bounded_time() {
    let pages = serve_pages().await;
    let fake = fetching_llm().await;
    let c = chat_app(&fake).await;
    // Generous for a debug build on a shared 2-core machine; linear extraction of 2 MiB
    // takes well under a second there.
    let bound = Duration::from_secs(15);
    for (path, _) in adversarial_pages() {
        let started = Instant::now();
        let turn = c.chat(json!({ "message": format!("{pages}{path}"), "surfaceId": path }));
        let health = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let t = Instant::now();
            c.app
                .send(Method::GET, "/health", None, &[])
                .await
                .expect(200);
            t.elapsed()
        };
        let (r, health_took) = tokio::time::timeout(bound, async { tokio::join!(turn, health) })
            .await
            .unwrap_or_else(|_| panic!("{path}: the turn took longer than {bound:?}"));
        let r = r.expect(200);
        assert_eq!(r.body["toolsUsed"], json!(["fetch_page"]), "{path}");
        assert!(
            health_took < Duration::from_secs(5),
            "{path}: /health took {health_took:?}"
        );
        tracing::debug!("{path}: turn in {:?}", started.elapsed());
    }
}

/// Reads until the peer closes (EOF or reset); false if it is still open at `deadline`.
async fn closed_by(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Slowloris: a client trickling its headers one byte per second, and one sending nothing,
/// are disconnected after the header-read timeout while normal requests are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_clients_are_disconnected() {
    let app = spawn_app_with(|c| c.dos.header_read_timeout = Duration::from_millis(1500)).await;
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /health HTTP/1.1\r\nHost: astra\r\nX-Padding: slowly-slowly-slowly\r\n\r\n";
    let started = Instant::now();
    // The whole request would take ~70 s at this pace; the timeout must cut it far earlier.
    let deadline = started + Duration::from_secs(8);
    let mut sent = 0;
    let mut disconnected = false;
    for byte in request {
        if slow.write_all(&[*byte]).await.is_err() {
            disconnected = true;
            break;
        }
        sent += 1;
        // A normal client is served meanwhile.
        app.send(Method::GET, "/health", None, &[])
            .await
            .expect(200);
        let mut probe = [0u8; 64];
        match tokio::time::timeout(Duration::from_secs(1), slow.read(&mut probe)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                disconnected = true;
                break;
            }
            Ok(Ok(_)) => panic!("the incomplete request was answered"),
            Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "still connected after {:?} and {sent} bytes",
            started.elapsed()
        );
    }
    assert!(disconnected, "the slow client sent its whole request");
    assert!(sent < request.len());
    assert!(
        closed_by(&mut idle, deadline).await,
        "a connection that sends nothing stays open"
    );
    app.send(Method::GET, "/health", None, &[])
        .await
        .expect(200);
}

/// Past `ASTRA_MAX_CONCURRENT_REQUESTS` a request is answered 503 at once (JSON envelope,
/// `Retry-After`), not queued; capacity comes back when the slow request ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_are_shed() {
    let fake = FakeLlm::start(|_, _| Answer::text("slow").slow(Duration::from_millis(1500))).await;
    let c = chat_app_with(&fake, |cfg| cfg.dos.max_concurrent_requests = 1).await;
    let c = std::sync::Arc::new(c);
    let busy = {
        let c = c.clone();
        tokio::spawn(async move { c.chat(json!({ "message": "take your time" })).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = c
        .app
        .send(Method::GET, "/health", None, &[])
        .await
        .expect_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(r.header("retry-after"), Some("1"));
    busy.await.unwrap().expect(200);
    c.app
        .send(Method::GET, "/health", None, &[])
        .await
        .expect(200);
}

async fn metrics(c: &ChatApp, key: Option<&str>) -> Value {
    // `/metrics` needs a caller (auth by default); money additionally needs the internal key.
    let bearer = format!("Bearer {}", c.token);
    let mut headers: Vec<(&str, &str)> = vec![("authorization", bearer.as_str())];
    headers.extend(key.map(|k| ("x-api-key", k)));
    c.app
        .send(Method::GET, "/metrics", None, &headers)
        .await
        .expect(200)
        .body
}

/// `/metrics` reuses its database counters for the refresh period instead of scanning per
/// call, and shows money only with the internal key.
#[tokio::test]
async fn metrics_are_cached_and_money_needs_the_internal_key() {
    let fake = FakeLlm::saying("hello").await;
    let c = chat_app_with(&fake, |cfg| {
        cfg.dos.metrics_refresh = Duration::from_secs(2);
    })
    .await;
    let first = metrics(&c, None).await;
    assert!(first.get("billing").is_none(), "{first}");
    assert!(first["sessions"]["total"].is_number() && first["messages"].is_number());
    c.chat(json!({ "message": "hi" })).await.expect(200);
    // Within the refresh period: the same counters, no new scan.
    let cached = metrics(&c, None).await;
    assert_eq!(cached["sessions"], first["sessions"]);
    assert_eq!(cached["messages"], first["messages"]);
    let wrong = metrics(&c, Some("not-the-key")).await;
    assert!(wrong.get("billing").is_none());
    let internal = metrics(&c, Some(TEST_INTERNAL_KEY)).await;
    assert!(internal["billing"]["totalCost"].is_number(), "{internal}");
    assert!(internal["billing"]["month"].is_string());
    // After the period the counters are read again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let fresh = metrics(&c, None).await;
    assert_eq!(
        fresh["sessions"]["total"].as_i64().unwrap(),
        first["sessions"]["total"].as_i64().unwrap() + 1
    );
}

/// The tool cache is per workspace: B neither sees A's entries nor clears them, and the same
/// call in B is a miss (never A's cached page).
#[tokio::test]
async fn tool_cache_stats_and_clear_are_scoped_to_the_workspace() {
    let page = Router::new().route("/page", get(|| async { "<title>A</title>secret of A" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, page).await.unwrap() });
    let fake = fetching_llm().await;
    let a = chat_app(&fake).await;
    a.chat(json!({ "message": url })).await.expect(200);
    let stats_a = a.app.get("/skills/cache/stats", &a.token).await.expect(200);
    assert_eq!(stats_a.body["entries"], 1, "{}", stats_a.text);
    // B: another user with their own workspace on the same gateway.
    let (token_b, _, _) = a.app.register("b-cache@example.com").await;
    let ws_b = a.app.workspace(&token_b, "B").await;
    let stats_b = a
        .app
        .send_ws(Method::GET, "/skills/cache/stats", &token_b, &ws_b, None)
        .await
        .expect(200);
    assert_eq!(stats_b.body["entries"], 0, "{}", stats_b.text);
    assert_eq!(stats_b.body["hits"], 0);
    assert_eq!(stats_b.body["misses"], 0);
    assert_eq!(stats_b.body["byTool"], json!({}));
    let r = a
        .app
        .send_ws(
            Method::POST,
            "/skills/cache/clear",
            &token_b,
            &ws_b,
            Some(json!({})),
        )
        .await
        .expect(200);
    assert_eq!(r.body["cleared"], 0);
    // B cannot name A's workspace either.
    a.app
        .send_ws(Method::GET, "/skills/cache/stats", &token_b, &a.ws, None)
        .await
        .expect_error(403, "FORBIDDEN");
    let stats_a = a.app.get("/skills/cache/stats", &a.token).await.expect(200);
    assert_eq!(stats_a.body["entries"], 1);
    assert_eq!(stats_a.body["misses"], 1);
    let r = a
        .app
        .post("/skills/cache/clear", &a.token, json!({}))
        .await
        .expect(200);
    assert_eq!(r.body["cleared"], 1);
}

/// Inserts old and recent rows into every retained table; ids say which is which.
async fn seed_retention_rows(store: &astra::store::Store, user_id: &str, ws: &str) {
    let now = Utc::now();
    let ago = |h: i64| now - chrono::Duration::hours(h);
    let day = 24;
    astra::with_pool!(store.pool(), p => {
        for (key, at) in [("old", ago(25)), ("new", ago(1))] {
            sqlx::query("INSERT INTO idempotency_keys (user_id, idem_key, request_hash, state, created_at) VALUES ($1, $2, 'h', 'done', $3)")
                .bind(user_id).bind(key).bind(at).execute(p).await.unwrap();
        }
        // Expired 31 days ago (goes), expired 29 days ago (stays), still valid (stays).
        for (id, expires) in [("rt_old", ago(31 * day)), ("rt_recent", ago(29 * day)), ("rt_live", now + chrono::Duration::days(3))] {
            sqlx::query("INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, revoked_at) VALUES ($1, $2, 'fam', $3, $4, $5, $4)")
                .bind(id).bind(user_id).bind(format!("hash-{id}")).bind(ago(40 * day)).bind(expires).execute(p).await.unwrap();
        }
        sqlx::query("INSERT INTO heartbeat_monitors (id, user_id, workspace_id, name, monitor_type, url, interval_minutes, enabled, config, next_run_at, seen, created_at, updated_at) \
                     VALUES ('mon_r', $1, $2, 'm', 'http', 'http://127.0.0.1:9/', 60, $3, $4, $5, $6, $5, $5)")
            .bind(user_id).bind(ws).bind(false).bind(Json(json!({}))).bind(now).bind(Json(json!([]))).execute(p).await.unwrap();
        for (id, at) in [("run_old", ago(31 * day)), ("run_new", ago(29 * day))] {
            sqlx::query("INSERT INTO heartbeat_runs (id, monitor_id, status, latency_ms, detail, started_at) VALUES ($1, 'mon_r', 'up', 5, $2, $3)")
                .bind(id).bind(Json(json!({}))).bind(at).execute(p).await.unwrap();
        }
        sqlx::query("INSERT INTO webhooks (id, user_id, workspace_id, url, events, secret, active, created_at, updated_at) VALUES ('wh_r', $1, $2, 'http://127.0.0.1:9/', $3, 's', $4, $5, $5)")
            .bind(user_id).bind(ws).bind(Json(json!(["chat.completed"]))).bind(false).bind(now).execute(p).await.unwrap();
        for (id, status, at) in [
            ("dl_old_delivered", "delivered", ago(31 * day)),
            ("dl_old_failed", "failed", ago(31 * day)),
            ("dl_old_pending", "pending", ago(31 * day)),
            ("dl_new_delivered", "delivered", ago(29 * day)),
        ] {
            sqlx::query("INSERT INTO webhook_deliveries (id, webhook_id, event, body, status, attempts, next_attempt_at, created_at) VALUES ($1, 'wh_r', 'chat.completed', '{}', $2, 1, $3, $3)")
                .bind(id).bind(status).bind(at).execute(p).await.unwrap();
        }
        for (id, status, at) in [
            ("rd_old_delivered", "delivered", ago(31 * day)),
            ("rd_old_pending", "pending", ago(31 * day)),
            ("rd_new_failed", "failed", ago(29 * day)),
        ] {
            sqlx::query("INSERT INTO reply_deliveries (id, user_id, workspace_id, session_id, url, event, body, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, 'ses_r', 'http://127.0.0.1:9/', 'chat.completed', '{}', $4, 1, $5, $5)")
                .bind(id).bind(user_id).bind(ws).bind(status).bind(at).execute(p).await.unwrap();
        }
        for (email, at) in [("old@example.com", ago(25)), ("new@example.com", ago(2))] {
            sqlx::query("INSERT INTO login_failures (email, failed_at) VALUES ($1, $2)")
                .bind(email).bind(at).execute(p).await.unwrap();
        }
        for (id, at) in [("au_old", ago(366 * day)), ("au_new", ago(364 * day))] {
            sqlx::query("INSERT INTO audit_log (id, user_id, workspace_id, action, target, details, created_at) VALUES ($1, $2, $3, 'test', NULL, $4, $5)")
                .bind(id).bind(user_id).bind(ws).bind(Json(json!({}))).bind(at).execute(p).await.unwrap();
        }
    });
}

async fn ids(store: &astra::store::Store, sql: &str) -> Vec<String> {
    let mut v: Vec<String> = astra::with_pool!(store.pool(), p => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_all(p).await.unwrap()
    });
    v.sort();
    v
}

/// Old rows of every retained table go, recent ones (and unfinished deliveries) stay, in
/// batches smaller than the backlog.
#[tokio::test]
async fn retention_deletes_old_rows_and_keeps_recent_ones() {
    let app = spawn_app().await;
    let (token, user_id, _) = app.register("retention@example.com").await;
    let ws = app.workspace(&token, "R").await;
    let store = app.store().await;
    seed_retention_rows(&store, &user_id, &ws).await;
    let config = RetentionConfig {
        batch_size: 1,
        ..RetentionConfig::default()
    };
    run_once(&store, &config, Utc::now()).await.unwrap();
    let uid = |sql: &str| sql.replace("$U", &user_id);
    assert_eq!(
        ids(
            &store,
            &uid("SELECT idem_key FROM idempotency_keys WHERE user_id = '$U'")
        )
        .await,
        ["new"]
    );
    assert_eq!(
        ids(
            &store,
            "SELECT id FROM refresh_tokens WHERE family_id = 'fam'"
        )
        .await,
        ["rt_live", "rt_recent"]
    );
    assert_eq!(
        ids(&store, "SELECT id FROM heartbeat_runs").await,
        ["run_new"]
    );
    assert_eq!(
        ids(&store, "SELECT id FROM webhook_deliveries").await,
        ["dl_new_delivered", "dl_old_pending"]
    );
    assert_eq!(
        ids(&store, "SELECT id FROM reply_deliveries").await,
        ["rd_new_failed", "rd_old_pending"]
    );
    assert_eq!(
        ids(
            &store,
            "SELECT email FROM login_failures WHERE email LIKE '%@example.com'"
        )
        .await,
        ["new@example.com"]
    );
    assert_eq!(
        ids(&store, "SELECT id FROM audit_log WHERE action = 'test'").await,
        ["au_new"]
    );
    store.close().await;
}

/// The gateway runs the retention task by itself, on the configured interval.
#[tokio::test]
async fn the_retention_task_runs_in_the_background() {
    let app = spawn_app_with(|c| c.retention.interval = Duration::from_millis(100)).await;
    let store = app.store().await;
    let old = Utc::now() - chrono::Duration::days(2);
    astra::with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO login_failures (email, failed_at) VALUES ('bg@example.com', $1)")
            .bind(old).execute(p).await.unwrap();
    });
    let mut left = 1;
    for _ in 0..100 {
        left = ids(
            &store,
            "SELECT email FROM login_failures WHERE email = 'bg@example.com'",
        )
        .await
        .len();
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 0, "the old failure was never pruned");
    store.close().await;
}
