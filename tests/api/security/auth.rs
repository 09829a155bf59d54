//! Security tests of authentication: refresh races and revoked families, logout visibility,
//! the login lock under parallel guesses, bounded hashing, the per-IP auth limit and
//! `X-Forwarded-For`, secret lengths, and authentication by default on every route.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Resp, TEST_INTERNAL_KEY, TestApp, spawn_app, spawn_app_with, test_config};

async fn post_anon(app: &TestApp, path: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
    app.send(Method::POST, path, Some(body), headers).await
}

async fn refresh(app: &TestApp, token: &str) -> Resp {
    post_anon(app, "/auth/refresh", json!({"refreshToken": token}), &[]).await
}

async fn login(app: &TestApp, email: &str, password: &str, headers: &[(&str, &str)]) -> Resp {
    post_anon(
        app,
        "/auth/login",
        json!({"email": email, "password": password}),
        headers,
    )
    .await
}

/// Runs one statement with one text argument against the app's database, behind its back.
async fn exec_sql(app: &TestApp, sql: &'static str, arg: &str) {
    match &app.db.url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.expect("pg");
            sqlx::query(sql)
                .bind(arg)
                .execute(&pool)
                .await
                .expect("sql");
            pool.close().await;
        }
        None => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(app.db.data_dir.join("astra.db"))
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::SqlitePool::connect_with(opts).await.expect("sqlite");
            sqlx::query(sql)
                .bind(arg)
                .execute(&pool)
                .await
                .expect("sql");
            pool.close().await;
        }
    }
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_let_at_most_one_through_and_kill_the_family() {
    let app = spawn_app().await;
    let (_, _, first) = app.register("race@example.com").await;
    let answers = join_all((0..10).map(|_| refresh(&app, &first))).await;
    let winners: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    assert!(winners.len() <= 1, "{} refreshes succeeded", winners.len());
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!(r.status, 401, "{}", r.text);
    }
    // The losers revealed a replay: nothing of the family works any more.
    refresh(&app, &first)
        .await
        .expect_error(401, "UNAUTHORIZED");
    for w in winners {
        let next = w.body["refreshToken"].as_str().expect("refreshToken");
        refresh(&app, next).await.expect_error(401, "UNAUTHORIZED");
        let access = w.body["accessToken"].as_str().expect("accessToken");
        app.get("/workspaces", access)
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    // A new login is a new family and works.
    let r = login(&app, "race@example.com", "correct-horse", &[])
        .await
        .expect(200);
    refresh(&app, r.body["refreshToken"].as_str().expect("refresh"))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_token_issued_into_a_revoked_family_is_refused() {
    let app = spawn_app().await;
    let (_, uid, first) = app.register("late@example.com").await;
    let second = refresh(&app, &first).await.expect(200).body["refreshToken"]
        .as_str()
        .expect("refreshToken")
        .to_string();
    // Replaying the spent token revokes the family.
    refresh(&app, &first)
        .await
        .expect_error(401, "UNAUTHORIZED");
    // A refresh that raced the revocation stored its successor after the revocation marked
    // the family's rows: emulate that row by clearing the marks.
    exec_sql(
        &app,
        "UPDATE refresh_tokens SET revoked_at = NULL WHERE user_id = $1",
        &uid,
    )
    .await;
    refresh(&app, &second)
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn logout_takes_effect_on_the_next_request_even_against_a_racing_refresh() {
    let app = spawn_app().await;
    for round in 0..12 {
        let (access, _, refresh_token) = app.register(&format!("out{round}@example.com")).await;
        // Readers with an empty cache, a refresh and the logout, all at once.
        let readers = join_all((0..6).map(|_| app.get("/workspaces", &access)));
        let racing = refresh(&app, &refresh_token);
        let out = app.post("/auth/logout", &access, json!({}));
        let (_, refreshed, out) = tokio::join!(readers, racing, out);
        out.expect(200);
        // No wait: the very next request is refused.
        app.get("/workspaces", &access)
            .await
            .expect_error(401, "UNAUTHORIZED");
        if refreshed.status == 200 {
            let next = refreshed.body["refreshToken"].as_str().expect("refresh");
            refresh(&app, next).await.expect_error(401, "UNAUTHORIZED");
            let new_access = refreshed.body["accessToken"].as_str().expect("access");
            app.get("/workspaces", new_access)
                .await
                .expect_error(401, "UNAUTHORIZED");
        }
    }
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lock() {
    // A realistic hash cost makes the verification window wide, as in production.
    let app = spawn_app_with(|c| c.password_memory_kib = 4096).await;
    app.register("lock@example.com").await;
    let guesses: Vec<String> = (0..30).map(|i| format!("wrong-{i:04}")).collect();
    let answers = join_all(
        guesses
            .iter()
            .map(|g| login(&app, "lock@example.com", g, &[])),
    )
    .await;
    let verified = answers.iter().filter(|r| r.status == 401).count();
    let locked = answers.iter().filter(|r| r.status == 429).count();
    assert!(verified <= 10, "{verified} guesses were verified");
    assert_eq!(verified + locked, 30, "unexpected answers");
    let r = login(&app, "lock@example.com", "correct-horse", &[])
        .await
        .expect_error(429, "RATE_LIMIT");
    assert!(r.header("retry-after").is_some());
    // An over-long email is refused before any work.
    let long = format!("{}@example.com", "a".repeat(300));
    login(&app, &long, "whatever-pass", &[])
        .await
        .expect_error(400, "VALIDATION_ERROR");
}

#[tokio::test]
async fn two_hundred_parallel_logins_finish_in_bounded_time_and_health_answers() {
    const BATCH_BOUND: Duration = Duration::from_secs(120);
    const HEALTH_BOUND: Duration = Duration::from_secs(5);
    // The production cost: 19 MiB per hash.
    let app = spawn_app_with(|c| c.password_memory_kib = 19 * 1024).await;
    app.register("many@example.com").await;
    let started = Instant::now();
    let logins = join_all((0..200).map(|_| login(&app, "many@example.com", "correct-horse", &[])));
    let health = async {
        let mut slowest = Duration::ZERO;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t = Instant::now();
            app.send(Method::GET, "/health", None, &[])
                .await
                .expect(200);
            slowest = slowest.max(t.elapsed());
        }
        slowest
    };
    let (answers, slowest_health) = tokio::join!(logins, health);
    let took = started.elapsed();
    assert!(took < BATCH_BOUND, "200 logins took {took:?}");
    assert!(
        slowest_health < HEALTH_BOUND,
        "/health took {slowest_health:?} under load"
    );
    for r in answers {
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

#[tokio::test]
async fn auth_routes_are_limited_per_ip() {
    let app = spawn_app_with(|c| c.auth_per_minute = 3).await;
    for i in 0..3 {
        let r = login(&app, &format!("n{i}@example.com"), "wrong-pass", &[]).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    let r = post_anon(
        &app,
        "/auth/register",
        json!({"email": "x@example.com", "password": "correct-horse"}),
        &[],
    )
    .await
    .expect_error(429, "RATE_LIMIT");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    refresh(&app, "anything")
        .await
        .expect_error(429, "RATE_LIMIT");
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_trusted_proxies_and_honoured_with_them() {
    let untrusting = spawn_app_with(|c| c.auth_per_minute = 2).await;
    let answers = [
        login(
            &untrusting,
            "a@example.com",
            "wrong-pass",
            &[("x-forwarded-for", "1.1.1.1")],
        )
        .await,
        login(
            &untrusting,
            "b@example.com",
            "wrong-pass",
            &[("x-forwarded-for", "2.2.2.2")],
        )
        .await,
        login(
            &untrusting,
            "c@example.com",
            "wrong-pass",
            &[("x-forwarded-for", "3.3.3.3")],
        )
        .await,
    ];
    assert_eq!(answers.map(|r| r.status), [401, 401, 429]);

    let behind_proxy = spawn_app_with(|c| {
        c.auth_per_minute = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
    })
    .await;
    for (i, client) in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]
        .iter()
        .enumerate()
    {
        login(
            &behind_proxy,
            &format!("p{i}@example.com"),
            "wrong-pass",
            &[("x-forwarded-for", client)],
        )
        .await
        .expect(401);
    }
    // One client, whatever it writes left of the address the proxy saw.
    let same = ["9.9.9.9", "6.6.6.6, 9.9.9.9", "7.7.7.7, 9.9.9.9"];
    let statuses: Vec<u16> = join_all(same.iter().enumerate().map(|(i, xff)| {
        let app = &behind_proxy;
        async move {
            login(
                app,
                &format!("s{i}@example.com"),
                "wrong-pass",
                &[("x-forwarded-for", xff)],
            )
            .await
            .status
        }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn short_secrets_refuse_to_start() {
    for key in ["JWT_SECRET_PREV", "INTERNAL_API_KEY"] {
        let err = astra::Config::from_lookup(&|k| (k == key).then(|| "short-secret".to_string()))
            .expect_err(key);
        assert!(err.to_string().starts_with(key), "{err}");
    }
    let db = crate::helpers::TestDb::new().await;
    let mut config = test_config(&db);
    config.internal_api_key = Some(astra::config::Secret::new("tiny"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let run = tokio::time::timeout(
        Duration::from_secs(30),
        astra::run(config, listener, std::future::pending()),
    )
    .await
    .expect("start-up refused promptly");
    let err = run.expect_err("a short key must stop start-up");
    assert!(err.to_string().contains("INTERNAL_API_KEY"), "{err}");
}

#[tokio::test]
async fn every_route_needs_credentials_unless_it_is_on_the_public_list() {
    use astra::http::public::PUBLIC_ROUTES;
    let app = spawn_app().await;
    let doc = app
        .send(Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in PUBLIC_ROUTES {
        let listed = paths
            .get(*path)
            .and_then(|item| item.get(method.to_lowercase()))
            .is_some();
        assert!(listed, "public route {method} {path} is not in the API");
    }
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path.replace(['{', '}'], "");
        for method in item.as_object().expect("operations").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
            let r = app.send(m.clone(), &concrete, body, &[]).await;
            let public = PUBLIC_ROUTES
                .iter()
                .any(|(pm, pp)| pm.eq_ignore_ascii_case(method) && pp == path);
            if public {
                assert_ne!(r.status, 401, "public {method} {path} refused: {}", r.text);
            } else {
                assert_eq!(
                    r.status, 401,
                    "{method} {path} answered {} without credentials but is not on PUBLIC_ROUTES",
                    r.status
                );
                // `/v1` answers in OpenAI's error shape, so SDKs raise AuthenticationError.
                if path.starts_with("/v1/") {
                    assert_eq!(r.body["error"]["code"], "invalid_api_key", "{}", r.text);
                } else {
                    assert_eq!(r.body["code"], "UNAUTHORIZED", "{}", r.text);
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} protected operations found");
    // Unknown routes still 404 and wrong methods 405, without credentials.
    app.send(Method::GET, "/no/such/route", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    app.send(Method::DELETE, "/health", None, &[])
        .await
        .expect_error(405, "METHOD_NOT_ALLOWED");
    // The internal key alone passes the gate (the handler then checks what it needs).
    app.send(
        Method::GET,
        "/admin/health",
        None,
        &[("x-api-key", TEST_INTERNAL_KEY)],
    )
    .await
    .expect(200);
}
