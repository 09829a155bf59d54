//! Security tests: provider keys, credentials, breakers and capped provider reads (issue 9
//! items 1, 2 and 9).
//!
//! The operator's providers (OpenAI-compatible, Anthropic, Gemini) point at a recording fake
//! upstream X with known keys; tenants write every agent config trick they can and run
//! turns; afterwards every other fake is searched for the operator's keys.

use std::time::{Duration, Instant};

use astra::{Config, providers::InferenceConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ANSWER, FakeLlm, Reply, UPSTREAM_SECRET_BODY};
use crate::helpers::{Resp, TEST_INTERNAL_KEY, TestApp, spawn_app_with};

const OPENAI_KEY: &str = "sk-operator-openai-0001";
const CLAUDE_KEY: &str = "sk-ant-operator-0002";
const GEMINI_KEY: &str = "operator-gemini-0003";
const AWS_SECRET: &str = "operator-aws-secret-0004";
const OPERATOR_KEYS: [&str; 4] = [OPENAI_KEY, CLAUDE_KEY, GEMINI_KEY, "AKIAOPERATOR0005"];
const PROVIDERS: [&str; 3] = ["openai", "claude", "gemini"];

/// Operator config: OpenAI-compatible at `{x}/v1`, Anthropic and Gemini at `x`, Bedrock at
/// `bedrock`; `allowed` are the `inference.allowedEndpoints`.
fn operator(config: &mut Config, x: &str, bedrock: &str, allowed: &[String], breaker: u32) {
    let (x, bedrock) = (x.to_string(), bedrock.to_string());
    let env = move |k: &str| {
        Some(match k {
            "OPENAI_API_KEY" => OPENAI_KEY.to_string(),
            "OPENAI_BASE_URL" => format!("{x}/v1"),
            "ANTHROPIC_API_KEY" => CLAUDE_KEY.to_string(),
            "ANTHROPIC_BASE_URL" | "GEMINI_BASE_URL" => x.clone(),
            "GEMINI_API_KEY" => GEMINI_KEY.to_string(),
            "AWS_ACCESS_KEY_ID" => OPERATOR_KEYS[3].to_string(),
            "AWS_SECRET_ACCESS_KEY" => AWS_SECRET.to_string(),
            "BEDROCK_BASE_URL" => bedrock.clone(),
            _ => return None,
        })
    };
    let inference = json!({
        "retries": {"maxRetries": 0, "baseDelayMs": 1, "maxDelayMs": 5},
        "timeoutMs": 5000,
        "allowedEndpoints": allowed,
        "circuitBreaker": {"failureThreshold": breaker, "windowSeconds": 60, "openSeconds": 60},
    });
    config.inference = InferenceConfig::from_sources(Some(&inference), &env).unwrap();
    config.default_provider = "openai".into();
    config.default_model = "gpt-4o-mini".into();
    config.limits.ip_per_minute = 0;
    config.limits.user_per_minute = 0;
}

/// A registered user with a workspace of their own.
struct Tenant {
    token: String,
    ws: String,
}

async fn tenant(app: &TestApp, name: &str) -> Tenant {
    let (token, _, _) = app.register(&format!("{name}@example.com")).await;
    let ws = app.workspace(&token, name).await;
    Tenant { token, ws }
}

impl Tenant {
    async fn create_agent(&self, app: &TestApp, id: &str, model: Value) -> Resp {
        let body = json!({"id": id, "displayName": id, "model": model, "skills": []});
        app.send_ws(Method::POST, "/agents", &self.token, &self.ws, Some(body))
            .await
    }

    async fn chat(&self, app: &TestApp, agent: &str) -> Resp {
        let body = json!({"message": "hello", "agentId": agent});
        app.send_ws(
            Method::POST,
            "/agent/chat",
            &self.token,
            &self.ws,
            Some(body),
        )
        .await
    }

    /// Creates a credential; `None` when the gateway has no such route (old code).
    async fn credential(&self, app: &TestApp, provider: &str, key: &str) -> Option<String> {
        let r = app
            .post(
                &format!("/workspaces/{}/provider-credentials", self.ws),
                &self.token,
                json!({"name": format!("{provider}-key"), "provider": provider, "apiKey": key}),
            )
            .await;
        (r.status == 201).then(|| r.body["id"].as_str().unwrap_or_default().to_string())
    }
}

fn host_port(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// Asserts that no operator key reached `rec`, except on paths under one of `allowed_paths`.
#[track_caller]
fn assert_no_operator_key(rec: &FakeLlm, name: &str, allowed_paths: &[&str]) {
    for seen in rec.seen() {
        if allowed_paths.iter().any(|p| seen.path.starts_with(p)) {
            continue;
        }
        for (header, value) in &seen.credentials() {
            assert!(
                !OPERATOR_KEYS.iter().any(|k| value.contains(k)),
                "operator key leaked to {name} at {} in {header}: {value}",
                seen.path
            );
        }
    }
}

#[tokio::test]
async fn no_agent_config_sends_the_operator_key_anywhere_but_its_endpoints() {
    let x = FakeLlm::always(Reply::recorded()).await;
    let y = FakeLlm::always(Reply::recorded()).await;
    let redirect = FakeLlm::always(Reply::RedirectTo(y.url.clone())).await;
    let z = FakeLlm::always(Reply::recorded()).await;
    let z_redirect = FakeLlm::always(Reply::RedirectTo(y.url.clone())).await;
    let failing = FakeLlm::always(Reply::leaky_failure(401)).await;
    let allowed = vec![
        format!("{}/allowed", z.url),
        format!("{}/allowed", z_redirect.url),
    ];
    let app = spawn_app_with(|c| operator(c, &x.url, &x.url, &allowed, 100)).await;
    let a = tenant(&app, "tenant-a").await;
    let b = tenant(&app, "tenant-b").await;

    let mut outcomes: Vec<(String, u16, Option<Resp>)> = Vec::new();
    for p in PROVIDERS {
        let own = a.credential(&app, p, &format!("sk-tenant-a-{p}")).await;
        let foreign = b.credential(&app, p, &format!("sk-tenant-b-{p}")).await;
        let tricks = [
            ("plain", json!({"endpoint": y.url})),
            ("redirect", json!({"endpoint": redirect.url})),
            (
                "userinfo",
                json!({"endpoint": format!("http://{}@{}/v1", host_port(&x.url), host_port(&y.url))}),
            ),
            (
                "dotdot",
                json!({"endpoint": format!("{}/allowed/../evil", z.url)}),
            ),
            ("allowed", json!({"endpoint": format!("{}/allowed", z.url)})),
            (
                "allowed-redirect",
                json!({"endpoint": format!("{}/allowed", z_redirect.url)}),
            ),
            (
                "foreign-cred",
                json!({"endpoint": y.url, "credentialId": foreign}),
            ),
            ("own-cred", json!({"endpoint": y.url, "credentialId": own})),
            (
                "own-cred-redirect",
                json!({"endpoint": redirect.url, "credentialId": own}),
            ),
            (
                "own-cred-failing",
                json!({"endpoint": failing.url, "credentialId": own}),
            ),
            (
                "fallback",
                json!({"fallback": {"provider": p, "modelId": "m2"}, "endpoint": y.url}),
            ),
        ];
        for (trick, extra) in tricks {
            let id = format!("{p}-{trick}");
            let mut model = json!({"provider": p, "modelId": "m"});
            for (k, v) in extra.as_object().unwrap() {
                if !v.is_null() {
                    model[k] = v.clone();
                }
            }
            let created = a.create_agent(&app, &id, model).await;
            let chat = if created.status == 201 {
                Some(a.chat(&app, &id).await)
            } else {
                None
            };
            outcomes.push((id, created.status, chat));
        }
    }
    // Defence in depth: an agent stored without the write-time checks (written before the
    // fix, or before the operator changed allowedEndpoints) still cannot get the key.
    let store = app.store().await;
    let legacy: astra::agents::AgentConfig = serde_json::from_value(json!({
        "id": "legacy", "displayName": "legacy", "tier": "standard",
        "model": {"provider": "openai", "modelId": "m", "maxContextTokens": null,
                  "maxOutputTokens": 100, "temperature": 0.5, "endpoint": y.url, "fallback": null},
        "systemPromptTemplate": "", "skills": [], "tools": {"allow": [], "deny": []},
        "session": {"idleTimeoutMinutes": 30, "dailyResetHour": 4}, "maxToolRounds": 2,
        "memoryProfileId": null,
    }))
    .unwrap();
    store
        .agents()
        .insert_agent(
            &a.ws,
            &legacy.to_doc().unwrap(),
            "usr_x",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let legacy_chat = a.chat(&app, "legacy").await;

    // The property: operator keys reached only X and the allowed prefixes.
    assert_no_operator_key(&y, "Y", &[]);
    assert_no_operator_key(&redirect, "the redirector", &[]);
    assert_no_operator_key(&failing, "the failing endpoint", &[]);
    assert_no_operator_key(&z, "Z outside /allowed", &["/allowed"]);
    assert_no_operator_key(&z_redirect, "Z' outside /allowed", &["/allowed"]);
    for (id, _, chat) in &outcomes {
        if let Some(chat) = chat {
            for secret in OPERATOR_KEYS.iter().chain([&UPSTREAM_SECRET_BODY]) {
                assert!(!chat.text.contains(secret), "{id} answered {}", chat.text);
            }
        }
    }
    assert!(!legacy_chat.text.contains(UPSTREAM_SECRET_BODY));

    // And the details: what is refused, what works and with whose key.
    let outcome = |id: &str| outcomes.iter().find(|o| o.0 == id).unwrap();
    for p in PROVIDERS {
        for refused in ["plain", "redirect", "userinfo", "dotdot", "fallback"] {
            let (id, status, _) = outcome(&format!("{p}-{refused}"));
            assert_eq!(*status, 400, "{id} must be refused at write time");
        }
        let (id, status, _) = outcome(&format!("{p}-foreign-cred"));
        assert_eq!(*status, 400, "{id}: another workspace's credential");
        for works in ["allowed", "own-cred"] {
            let (id, status, chat) = outcome(&format!("{p}-{works}"));
            assert_eq!(*status, 201, "{id}");
            let chat = chat.as_ref().unwrap();
            assert_eq!(chat.status, 200, "{id}: {}", chat.text);
            assert_eq!(chat.body["content"], ANSWER, "{id}");
        }
        let (id, _, chat) = outcome(&format!("{p}-own-cred-failing"));
        let chat = chat.as_ref().unwrap();
        assert_eq!(chat.status, 502, "{id}: {}", chat.text);
        assert_eq!(chat.body["message"], "Provider returned HTTP 401", "{id}");
        let (id, _, chat) = outcome(&format!("{p}-own-cred-redirect"));
        assert_eq!(
            chat.as_ref().unwrap().status,
            502,
            "{id}: redirects are not followed"
        );
    }
    let y_keys = y.credential_values();
    for p in PROVIDERS {
        assert!(
            y_keys
                .iter()
                .any(|k| k.contains(&format!("sk-tenant-a-{p}"))),
            "Y got A's own {p} key: {y_keys:?}"
        );
    }
    assert!(
        !y_keys.iter().any(|k| k.contains("sk-tenant-b")),
        "B's keys never leave for A's agents"
    );
    assert!(z.seen().iter().all(|s| s.path.starts_with("/allowed")));
    let legacy_status = legacy_chat.status;
    assert!(
        legacy_status == 200 || legacy_status == 502,
        "{}",
        legacy_chat.text
    );
}

#[tokio::test]
async fn a_dead_tenant_endpoint_does_not_open_the_operators_breaker() {
    let x = FakeLlm::always(Reply::recorded()).await;
    let dead = FakeLlm::always(Reply::leaky_failure(503)).await;
    let app = spawn_app_with(|c| operator(c, &x.url, &x.url, &[], 3)).await;
    let attacker = tenant(&app, "attacker").await;
    let victim = tenant(&app, "victim").await;
    let cred = attacker.credential(&app, "openai", "sk-attacker").await;
    let mut model = json!({"provider": "openai", "modelId": "gpt-4o-mini", "endpoint": dead.url});
    if let Some(id) = cred {
        model["credentialId"] = json!(id);
    }
    attacker.create_agent(&app, "dead", model).await.expect(201);
    for _ in 0..8 {
        let r = attacker.chat(&app, "dead").await;
        assert!(r.status == 502 || r.status == 503, "{}", r.text);
    }
    victim
        .create_agent(
            &app,
            "normal",
            json!({"provider": "openai", "modelId": "gpt-4o-mini"}),
        )
        .await
        .expect(201);
    let r = victim.chat(&app, "normal").await;
    assert_eq!(r.status, 200, "victim must be served: {}", r.text);
    assert_eq!(r.body["content"], ANSWER);
    let diag = app
        .send(
            Method::GET,
            "/diagnostics/circuit-breakers",
            None,
            &[("x-api-key", TEST_INTERNAL_KEY)],
        )
        .await
        .expect(200);
    let openai = diag.body["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["provider"] == "openai")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(openai["state"], "closed", "{}", diag.text);
}

#[tokio::test]
async fn credentials_are_write_only_encrypted_and_workspace_scoped() {
    const SECRET: &str = "sk-live-write-only-secret-42";
    let x = FakeLlm::always(Reply::recorded()).await;
    let app = spawn_app_with(|c| operator(c, &x.url, &x.url, &[], 100)).await;
    let a = tenant(&app, "owner-a").await;
    let b = tenant(&app, "owner-b").await;
    let (viewer, viewer_id, _) = app.register("viewer-a@example.com").await;
    app.post(
        &format!("/workspaces/{}/members", a.ws),
        &a.token,
        json!({"uid": viewer_id, "role": "viewer"}),
    )
    .await
    .expect(201);
    let path = format!("/workspaces/{}/provider-credentials", a.ws);
    let created = app
        .post(
            &path,
            &a.token,
            json!({"name": "main", "provider": "openai", "apiKey": SECRET, "baseUrl": x.url}),
        )
        .await
        .expect(201);
    assert!(!created.text.contains(SECRET), "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["provider"], "openai");
    assert_eq!(created.body["name"], "main");
    assert!(created.body.get("apiKey").is_none());

    // Validation and conflicts.
    for bad in [
        json!({"name": "n", "provider": "openai"}),
        json!({"name": "n", "provider": "bedrock", "apiKey": "k"}),
        json!({"name": "", "provider": "openai", "apiKey": "k"}),
        json!({"name": "n", "provider": "nope", "apiKey": "k"}),
        json!({"name": "n", "provider": "openai", "apiKey": "a b"}),
    ] {
        app.post(&path, &a.token, bad)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    app.post(
        &path,
        &a.token,
        json!({"name": "main", "provider": "openai", "apiKey": "other"}),
    )
    .await
    .expect_error(409, "CONFLICT");

    // Members read metadata; only owners/admins write; other workspaces see nothing.
    for token in [&a.token, &viewer] {
        let list = app.get(&path, token).await.expect(200);
        assert_eq!(list.body["total"], 1);
        assert_eq!(list.body["limit"], 20);
        assert_eq!(list.body["offset"], 0);
        assert_eq!(list.body["items"][0]["id"], id.as_str());
        assert!(!list.text.contains(SECRET));
    }
    app.post(
        &path,
        &viewer,
        json!({"name": "v", "provider": "openai", "apiKey": "k"}),
    )
    .await
    .expect_error(403, "FORBIDDEN");
    app.delete(&format!("{path}/{id}"), &viewer)
        .await
        .expect_error(403, "FORBIDDEN");
    let denied = app.get(&path, &b.token).await;
    assert!(
        denied.status == 403 || denied.status == 404,
        "{}",
        denied.text
    );
    let denied = app.delete(&format!("{path}/{id}"), &b.token).await;
    assert!(denied.status == 403 || denied.status == 404);
    app.delete(
        &format!("/workspaces/{}/provider-credentials/{id}", b.ws),
        &b.token,
    )
    .await
    .expect_error(404, "NOT_FOUND");
    let model = json!({"provider": "openai", "modelId": "m", "credentialId": id});
    let r = b.create_agent(&app, "steal", model.clone()).await;
    r.expect_error(400, "VALIDATION_ERROR");

    // At rest: only ciphertext, in the row and anywhere in the SQLite files.
    let store = app.store().await;
    let stored: String = astra::with_pool!(store.pool(), p => {
        sqlx::query_scalar("SELECT secret_ciphertext FROM provider_credentials WHERE id = $1")
            .bind(&id).fetch_one(p).await
    })
    .unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains(SECRET),
        "{stored}"
    );
    if app.config.database_url.is_none() {
        for file in ["astra.db", "astra.db-wal"] {
            let bytes = std::fs::read(app.config.data_dir.join(file)).unwrap_or_default();
            let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(!found, "{file} holds the key in clear");
        }
    }

    // The owner's agent uses it (at the credential's base URL); after deletion it cannot.
    a.create_agent(&app, "mine", model).await.expect(201);
    let r = a.chat(&app, "mine").await.expect(200);
    assert_eq!(r.body["content"], ANSWER);
    assert!(x.credential_values().iter().any(|k| k.contains(SECRET)));
    app.delete(&format!("{path}/{id}"), &a.token)
        .await
        .expect(204);
    assert_eq!(app.get(&path, &a.token).await.body["total"], 0);
    a.chat(&app, "mine").await.expect_error(409, "CONFLICT");
}

/// Chat must end in a clear PROVIDER_ERROR within `bound` while /health keeps answering.
async fn assert_capped(app: &TestApp, who: &Tenant, agent: &str, bound: Duration) {
    let started = Instant::now();
    let chat = who.chat(app, agent);
    let health = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        let r = app.send(Method::GET, "/health", None, &[]).await;
        (r.status, t.elapsed())
    };
    let (r, (health_status, health_took)) = tokio::join!(chat, health);
    let took = started.elapsed();
    assert!(took < bound, "took {took:?}, bound {bound:?}");
    r.expect_error(502, "PROVIDER_ERROR");
    assert_eq!(health_status, 200);
    assert!(
        health_took < Duration::from_secs(2),
        "health took {health_took:?}"
    );
}

#[tokio::test]
async fn a_10_mib_sse_line_and_an_oversized_body_end_in_a_clear_error() {
    let x = FakeLlm::always(Reply::HugeLine(10 * 1024 * 1024)).await;
    let w = FakeLlm::always(Reply::HugeFrame(24 * 1024 * 1024)).await;
    let app = spawn_app_with(|c| operator(c, &x.url, &w.url, &[], 100)).await;
    let t = tenant(&app, "dos").await;
    t.create_agent(
        &app,
        "sse",
        json!({"provider": "openai", "modelId": "gpt-4o-mini"}),
    )
    .await
    .expect(201);
    t.create_agent(
        &app,
        "br",
        json!({"provider": "bedrock", "modelId": "anthropic.x-v1:0"}),
    )
    .await
    .expect(201);
    // Bound: generous for a debug build on a shared 2-core machine; the cap trips after
    // 1 MiB, where the old parser buffered (and rescanned) the whole line.
    let bound = Duration::from_secs(4);
    assert_capped(&app, &t, "sse", bound).await;
    let r = t.chat(&app, "sse").await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too large"),
        "{}",
        r.text
    );
    assert_capped(&app, &t, "br", bound).await;
    let r = t.chat(&app, "br").await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too large"),
        "{}",
        r.text
    );
}
