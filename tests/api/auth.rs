//! Auth group: register, login, brute-force lock, refresh rotation and replay, logout, and
//! every way a token can be bad.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TEST_JWT_SECRET, TestApp, spawn_app, spawn_app_with};

async fn login(app: &TestApp, email: &str, password: &str) -> crate::helpers::Resp {
    app.send(
        Method::POST,
        "/auth/login",
        Some(json!({"email": email, "password": password})),
        &[],
    )
    .await
}

#[tokio::test]
async fn register_returns_user_and_tokens() {
    let app = spawn_app().await;
    let r = app
        .send(
            Method::POST,
            "/auth/register",
            Some(json!({"email": "Ann@Example.com", "password": "s3cret!!"})),
            &[],
        )
        .await
        .expect(201);
    assert!(r.body["user"]["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(r.body["user"]["email"], "ann@example.com");
    assert!(r.body["accessToken"].as_str().unwrap().split('.').count() == 3);
    assert!(r.body["refreshToken"].as_str().unwrap().len() >= 40);
    // The access token works.
    let token = r.body["accessToken"].as_str().unwrap();
    app.get("/workspaces", token).await.expect(200);
}

#[tokio::test]
async fn duplicate_email_is_a_conflict_case_insensitively() {
    let app = spawn_app().await;
    app.register("bob@example.com").await;
    app.send(
        Method::POST,
        "/auth/register",
        Some(json!({"email": "BOB@example.com", "password": "another-pass"})),
        &[],
    )
    .await
    .expect_error(409, "CONFLICT");
}

#[tokio::test]
async fn register_validates_email_and_password() {
    let app = spawn_app().await;
    let r = app
        .send(
            Method::POST,
            "/auth/register",
            Some(json!({"email": "not-an-email", "password": "short"})),
            &[],
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["email"].is_string(), "{}", r.text);
    assert!(r.body["details"]["password"].is_string(), "{}", r.text);
    let long = "x".repeat(1025);
    app.send(
        Method::POST,
        "/auth/register",
        Some(json!({"email": "a@b.io", "password": long})),
        &[],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    let r = app
        .send(
            Method::POST,
            "/auth/register",
            Some(json!({"email": "a@b.io"})),
            &[],
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(r.body["details"]["password"].is_string(), "{}", r.text);
}

#[tokio::test]
async fn login_succeeds_and_failures_look_alike() {
    let app = spawn_app().await;
    app.register("carl@example.com").await;
    let ok = login(&app, "CARL@example.com", "correct-horse")
        .await
        .expect(200);
    assert_eq!(ok.body["user"]["email"], "carl@example.com");
    assert!(ok.body["accessToken"].is_string() && ok.body["refreshToken"].is_string());
    let wrong = login(&app, "carl@example.com", "wrong-horse")
        .await
        .expect_error(401, "UNAUTHORIZED");
    let unknown = login(&app, "nobody@example.com", "wrong-horse")
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert_eq!(wrong.body["message"], unknown.body["message"]);
}

#[tokio::test]
async fn ten_failed_logins_lock_the_email() {
    let app = spawn_app().await;
    app.register("dave@example.com").await;
    for _ in 0..10 {
        login(&app, "dave@example.com", "bad-password")
            .await
            .expect(401);
    }
    let r = login(&app, "dave@example.com", "correct-horse")
        .await
        .expect_error(429, "RATE_LIMIT");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "retry-after {retry}");
    // Another email is unaffected.
    app.register("erin@example.com").await;
    login(&app, "erin@example.com", "correct-horse")
        .await
        .expect(200);
}

#[tokio::test]
async fn refresh_rotates_and_replay_revokes_the_family() {
    let app = spawn_app().await;
    let (_, _, first) = app.register("fay@example.com").await;
    let r = app
        .send(
            Method::POST,
            "/auth/refresh",
            Some(json!({"refreshToken": first})),
            &[],
        )
        .await
        .expect(200);
    let second = r.body["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let access = r.body["accessToken"].as_str().unwrap().to_string();
    app.get("/workspaces", &access).await.expect(200);
    // Replaying the spent token is refused and kills the family, including `second`.
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": first})),
        &[],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": second})),
        &[],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    // A token from another login (another family) still works.
    let other = login(&app, "fay@example.com", "correct-horse")
        .await
        .expect(200);
    let other_refresh = other.body["refreshToken"].as_str().unwrap();
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": other_refresh})),
        &[],
    )
    .await
    .expect(200);
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": "garbage"})),
        &[],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn logout_revokes_refresh_and_access_tokens() {
    let app = spawn_app().await;
    let (access, _, refresh) = app.register("gus@example.com").await;
    app.post("/auth/logout", &access, json!({}))
        .await
        .expect(200);
    app.get("/workspaces", &access)
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.send(
        Method::POST,
        "/auth/refresh",
        Some(json!({"refreshToken": refresh})),
        &[],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    // Logging in again works.
    let r = login(&app, "gus@example.com", "correct-horse")
        .await
        .expect(200);
    app.get("/workspaces", r.body["accessToken"].as_str().unwrap())
        .await
        .expect(200);
    // Logout needs a token.
    app.send(Method::POST, "/auth/logout", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = spawn_app().await;
    let (access, uid, refresh) = app.register("hal@example.com").await;
    let now = chrono::Utc::now().timestamp();
    // Tampered payload.
    let parts: Vec<&str> = access.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(
        json!({"sub": "usr_other", "uid": "usr_other", "iat": now, "exp": now + 600, "ver": 0, "typ": "access"}).to_string(),
    );
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    // alg: none.
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims =
        json!({"sub": uid, "uid": uid, "iat": now, "exp": now + 600, "ver": 0, "typ": "access"});
    let none = format!("{}.{}.", header, URL_SAFE_NO_PAD.encode(claims.to_string()));
    // Expired but correctly signed.
    let expired = sign(
        &json!({"sub": uid, "uid": uid, "iat": now - 1000, "exp": now - 10, "ver": 0, "typ": "access"}),
        TEST_JWT_SECRET,
    );
    // Signed with another secret.
    let foreign = sign(&claims, "some-other-secret-entirely");
    for bad in [
        tampered.as_str(),
        none.as_str(),
        expired.as_str(),
        foreign.as_str(),
        refresh.as_str(),
        "x.y.z",
    ] {
        app.get("/workspaces", bad)
            .await
            .expect_error(401, "UNAUTHORIZED");
    }
    app.send(Method::GET, "/workspaces", None, &[])
        .await
        .expect_error(401, "UNAUTHORIZED");
    app.send(
        Method::GET,
        "/workspaces",
        None,
        &[("authorization", "Basic abc")],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    // A well-signed fresh token is accepted.
    app.get("/workspaces", &sign(&claims, TEST_JWT_SECRET))
        .await
        .expect(200);
}

#[tokio::test]
async fn previous_secret_still_verifies() {
    let app = spawn_app_with(|c| {
        c.jwt_secret_prev = Some(astra::config::Secret::new("the-previous-secret-123"));
    })
    .await;
    let (_, uid, _) = app.register("ivy@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let claims =
        json!({"sub": uid, "uid": uid, "iat": now, "exp": now + 600, "ver": 0, "typ": "access"});
    app.get("/workspaces", &sign(&claims, "the-previous-secret-123"))
        .await
        .expect(200);
}
