//! The web console (issue #17): embedded files with a strict CSP, ETag/304 and cache headers;
//! the console's sign-in routes keep the refresh token in an `HttpOnly; Secure;
//! SameSite=Strict` cookie and out of every body and URL; the prefix is configurable.

use std::path::{Path, PathBuf};

use base64::Engine;
use reqwest::Method;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::{Resp, TestApp, spawn_app, spawn_app_with, unique_email};

const PASSWORD: &str = "correct-horse";

fn console_files() -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("console dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let rel = path.strip_prefix(root).expect("prefix");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

fn set_cookie(r: &Resp) -> String {
    r.header("set-cookie").expect("set-cookie").to_string()
}

/// `name=value` of a `Set-Cookie` header, to send back as `Cookie`.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_string()
}

async fn console_register(app: &TestApp, email: &str) -> Resp {
    app.send(
        Method::POST,
        "/console/session/register",
        Some(json!({"email": email, "password": PASSWORD})),
        &[],
    )
    .await
}

async fn console_refresh(app: &TestApp, cookie: &str) -> Resp {
    app.send(
        Method::POST,
        "/console/session/refresh",
        Some(json!({})),
        &[("cookie", cookie), ("x-astra-console", "1")],
    )
    .await
}

#[tokio::test]
async fn the_page_carries_a_strict_csp_that_allows_only_its_import_map() {
    let app = spawn_app().await;
    let r = app
        .send(Method::GET, "/console/", None, &[])
        .await
        .expect(200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r
        .header("content-security-policy")
        .expect("CSP")
        .to_string();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    for directive in [
        "style-src 'self';",
        "connect-src 'self';",
        "base-uri 'none';",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(
        !csp.contains("http"),
        "no other origin may be allowed: {csp}"
    );
    // The one inline script is the import map, allowed by its hash and nothing else.
    let map = r
        .text
        .split("<script type=\"importmap\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("import map");
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map.as_bytes()));
    assert!(
        csp.contains(&format!("script-src 'self' 'sha256-{hash}';")),
        "{csp}"
    );
    assert_eq!(r.text.matches("<script").count(), 2, "{}", r.text);
    assert!(
        r.text
            .contains("<script type=\"module\" src=\"./js/main.js\"></script>")
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    // Not part of the API.
    let doc = app
        .send(Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200);
    let paths = doc.body["paths"].as_object().expect("paths");
    assert!(paths.keys().all(|p| !p.starts_with("/console")));
}

#[tokio::test]
async fn every_file_is_served_with_an_etag_that_answers_304() {
    let app = spawn_app().await;
    let files = console_files();
    assert!(files.iter().any(|f| f == "vendor/preact-10.29.8/LICENSE"));
    assert!(files.iter().any(|f| f == "vendor/htm-3.1.1/LICENSE"));
    for file in &files {
        let r = app
            .send(Method::GET, &format!("/console/{file}"), None, &[])
            .await
            .expect(200);
        let etag = r.header("etag").expect("etag").to_string();
        assert!(etag.starts_with('"') && etag.len() == 34, "{file}: {etag}");
        assert!(r.header("content-security-policy").is_some(), "{file}");
        let cache = r.header("cache-control").expect("cache-control");
        if file.starts_with("vendor/") {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{file}");
        } else {
            assert_eq!(cache, "no-cache", "{file}");
        }
        if file.ends_with(".js") {
            assert_eq!(
                r.header("content-type"),
                Some("text/javascript; charset=utf-8")
            );
        }
        let again = app
            .send(
                Method::GET,
                &format!("/console/{file}"),
                None,
                &[("if-none-match", &etag)],
            )
            .await
            .expect(304);
        assert!(again.text.is_empty(), "{file}");
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        // A stale tag gets the file again.
        app.send(
            Method::GET,
            &format!("/console/{file}"),
            None,
            &[("if-none-match", "\"stale\"")],
        )
        .await
        .expect(200);
    }
    for missing in [
        "/console/nope.js",
        "/console/%2e%2e/Cargo.toml",
        "/console/js//main.js",
    ] {
        app.send(Method::GET, missing, None, &[])
            .await
            .expect_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn the_app_keeps_tokens_out_of_urls_storage_and_html() {
    // The console's own code (not the vendored libraries): the refresh token is never readable
    // by it, the access token never goes into storage or a URL, nothing is rendered as HTML.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("console");
    let app_code: Vec<String> = console_files()
        .into_iter()
        .filter(|f| f.starts_with("js/"))
        .collect();
    assert!(app_code.len() >= 8, "{app_code:?}");
    for file in app_code {
        let code = std::fs::read_to_string(root.join(&file)).expect("read");
        for forbidden in [
            "localStorage",
            "innerHTML",
            "dangerouslySetInnerHTML",
            "refreshToken",
            "token=",
            "document.cookie",
            "eval(",
        ] {
            assert!(!code.contains(forbidden), "{file} contains {forbidden}");
        }
    }
}

#[tokio::test]
async fn console_sign_in_sets_a_strict_http_only_cookie_and_returns_only_an_access_token() {
    let app = spawn_app().await;
    let email = unique_email("console");
    let r = console_register(&app, &email).await.expect(201);
    assert!(r.body["accessToken"].is_string(), "{}", r.text);
    assert!(r.body.get("refreshToken").is_none(), "{}", r.text);
    assert_eq!(r.body["user"]["email"], email.as_str());
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let cookie = set_cookie(&r);
    for flag in [
        "; Path=/console/session;",
        "; HttpOnly",
        "; Secure",
        "; SameSite=Strict",
    ] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    let max_age = app.config.jwt_refresh_ttl.as_secs();
    assert!(
        cookie.contains(&format!("; Max-Age={max_age};")),
        "{cookie}"
    );
    // The access token is a working bearer token.
    let token = r.body["accessToken"].as_str().expect("token");
    app.get("/workspaces", token).await.expect(200);

    // Login: a wrong password is refused without a cookie; the right one sets a new one.
    let wrong = app
        .send(
            Method::POST,
            "/console/session/login",
            Some(json!({"email": email, "password": "not-the-password"})),
            &[],
        )
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert!(wrong.header("set-cookie").is_none());
    let r = app
        .send(
            Method::POST,
            "/console/session/login",
            Some(json!({"email": email, "password": PASSWORD})),
            &[],
        )
        .await
        .expect(200);
    assert!(set_cookie(&r).contains("; HttpOnly; Secure; SameSite=Strict"));
    assert!(r.body.get("refreshToken").is_none());
    // Field problems come back at their fields, as on /auth/register.
    let bad = app
        .send(
            Method::POST,
            "/console/session/register",
            Some(json!({"email": "nope", "password": "short"})),
            &[],
        )
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert!(bad.body["details"]["email"].is_string(), "{}", bad.text);
    assert!(bad.body["details"]["password"].is_string(), "{}", bad.text);
}

#[tokio::test]
async fn refresh_rotates_the_cookie_and_a_replayed_cookie_revokes_the_family() {
    let app = spawn_app().await;
    let r = console_register(&app, &unique_email("console"))
        .await
        .expect(201);
    let first = cookie_pair(&set_cookie(&r));

    // Without the console header (a cross-site form cannot send one) nothing rotates.
    app.send(
        Method::POST,
        "/console/session/refresh",
        Some(json!({})),
        &[("cookie", &first)],
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");
    app.send(
        Method::POST,
        "/console/session/refresh",
        Some(json!({})),
        &[("x-astra-console", "1")],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");

    let r = console_refresh(&app, &first).await.expect(200);
    assert!(r.body["accessToken"].is_string());
    assert!(r.body.get("refreshToken").is_none());
    let second = cookie_pair(&set_cookie(&r));
    assert_ne!(first, second);
    app.get("/workspaces", r.body["accessToken"].as_str().unwrap())
        .await
        .expect(200);

    // Replaying the spent cookie: 401, the cookie cleared, and the whole family revoked.
    let replay = console_refresh(&app, &first)
        .await
        .expect_error(401, "UNAUTHORIZED");
    assert!(
        set_cookie(&replay).contains("Max-Age=0"),
        "{}",
        set_cookie(&replay)
    );
    console_refresh(&app, &second)
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn logout_needs_the_bearer_token_clears_the_cookie_and_revokes_it() {
    let app = spawn_app().await;
    let r = console_register(&app, &unique_email("console"))
        .await
        .expect(201);
    let cookie = cookie_pair(&set_cookie(&r));
    let token = r.body["accessToken"].as_str().unwrap().to_string();
    app.send(
        Method::POST,
        "/console/session/logout",
        Some(json!({})),
        &[("cookie", &cookie)],
    )
    .await
    .expect_error(401, "UNAUTHORIZED");
    let out = app
        .post("/console/session/logout", &token, json!({}))
        .await
        .expect(200);
    let cleared = set_cookie(&out);
    assert!(cleared.starts_with("astra_console_refresh=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    console_refresh(&app, &cookie)
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_prefix_is_configurable_and_the_console_can_be_switched_off() {
    let app = spawn_app_with(|c| c.console.path = Some("/ops/console".into())).await;
    app.send(Method::GET, "/ops/console/", None, &[])
        .await
        .expect(200);
    app.send(Method::GET, "/console/", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
    let r = app
        .send(
            Method::POST,
            "/ops/console/session/register",
            Some(json!({"email": unique_email("console"), "password": PASSWORD})),
            &[],
        )
        .await
        .expect(201);
    assert!(set_cookie(&r).contains("; Path=/ops/console/session;"));
    // `/ops/console` redirects to the folder, so the page's relative URLs resolve under it.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(app.url("/ops/console")).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/ops/console/");

    let off = spawn_app_with(|c| c.console.path = None).await;
    off.send(Method::GET, "/console/", None, &[])
        .await
        .expect_error(404, "NOT_FOUND");
}
