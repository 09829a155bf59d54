//! The running gateway: boots the real router on 127.0.0.1:0 against a fresh [`TestDb`] and
//! offers a small JSON client.

use std::net::SocketAddr;

use astra::{Config, config::Secret};
use reqwest::{Method, header::HeaderMap};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::db::TestDb;

/// The JWT secret every test app signs with.
pub const TEST_JWT_SECRET: &str = "test-secret-0123456789abcdef";
/// The internal API key of every test app.
pub const TEST_INTERNAL_KEY: &str = "test-internal-key";

/// A running gateway.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    #[allow(dead_code)]
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    #[allow(dead_code)]
    pub db: TestDb,
}

/// The configuration every test app starts from.
pub fn test_config(db: &TestDb) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port: 0,
        database_url: db.url.clone(),
        db_max_connections: 5,
        data_dir: db.data_dir.clone(),
        jwt_secret: Some(Secret::new(TEST_JWT_SECRET)),
        internal_api_key: Some(Secret::new(TEST_INTERNAL_KEY)),
        allow_private_urls: true,
        password_memory_kib: 64,
        // Every test registers many users from 127.0.0.1; tests of the limit set a low one.
        auth_per_minute: 100_000,
        // Workers poll often and retry fast, so tests see their effects quickly.
        webhook_retry_base: std::time::Duration::from_millis(20),
        workers: astra::workers::WorkersConfig {
            poll: std::time::Duration::from_millis(50),
            job_retry_base: std::time::Duration::from_millis(50),
            ..Default::default()
        },
        ..Config::default()
    }
}

/// Boots an app with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Boots an app after letting the test adjust the configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new().await;
    let mut config = test_config(&db);
    adjust(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(astra::run(config.clone(), listener, async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder().build().expect("client");
    let app = TestApp {
        addr,
        client,
        config,
        shutdown: Some(tx),
        handle: Some(handle),
        db,
    };
    app.wait_ready().await;
    app
}

/// A response with its JSON body (or `Null`).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Asserts the status, printing the body on mismatch.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error envelope with this status and code (and a message).
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        let body = self.error();
        assert_eq!(body.code, code, "unexpected code; body: {}", self.text);
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.client.get(self.url("/readiness")).send().await
                && r.status() == 200
            {
                return;
            }
            if self.handle.as_ref().is_some_and(|h| h.is_finished()) {
                panic!("app exited during start-up");
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("app never became ready");
    }

    /// Sends a request with optional JSON body and headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.send(Method::GET, path, None, &[("authorization", &auth)])
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        let auth = format!("Bearer {token}");
        self.send(Method::POST, path, Some(body), &[("authorization", &auth)])
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        let auth = format!("Bearer {token}");
        self.send(Method::PUT, path, Some(body), &[("authorization", &auth)])
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.send(Method::DELETE, path, None, &[("authorization", &auth)])
            .await
    }

    /// Sends a request with a bearer token and `X-Workspace-Id`.
    pub async fn send_ws(
        &self,
        method: Method,
        path: &str,
        token: &str,
        workspace: &str,
        body: Option<Value>,
    ) -> Resp {
        let auth = format!("Bearer {token}");
        self.send(
            method,
            path,
            body,
            &[("authorization", &auth), ("x-workspace-id", workspace)],
        )
        .await
    }

    /// GET with a bearer token and `X-Workspace-Id`.
    pub async fn get_in(&self, path: &str, token: &str, workspace: &str) -> Resp {
        self.send_ws(Method::GET, path, token, workspace, None)
            .await
    }

    /// Registers a user; returns (access token, user id, refresh token).
    pub async fn register(&self, email: &str) -> (String, String, String) {
        let r = self
            .send(
                Method::POST,
                "/auth/register",
                Some(json!({"email": email, "password": "correct-horse"})),
                &[],
            )
            .await
            .expect(201);
        (
            r.body["accessToken"]
                .as_str()
                .expect("accessToken")
                .to_string(),
            r.body["user"]["id"].as_str().expect("user id").to_string(),
            r.body["refreshToken"]
                .as_str()
                .expect("refreshToken")
                .to_string(),
        )
    }

    /// Creates a workspace for the token's user; returns its id.
    pub async fn workspace(&self, token: &str, name: &str) -> String {
        let r = self
            .post("/workspaces", token, json!({"name": name}))
            .await
            .expect(201);
        r.body["id"].as_str().expect("workspace id").to_string()
    }

    /// GET with the internal API key.
    pub async fn key_get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[("x-api-key", TEST_INTERNAL_KEY)])
            .await
    }

    /// POST with the internal API key.
    pub async fn key_post(&self, path: &str, body: Value) -> Resp {
        let key = [("x-api-key", TEST_INTERNAL_KEY)];
        self.send(Method::POST, path, Some(body), &key).await
    }

    /// A store on the app's database, for assertions on what was recorded.
    pub async fn store(&self) -> astra::store::Store {
        astra::store::Store::connect(&(&self.config).into())
            .await
            .expect("store")
    }

    /// Sends the shutdown signal without waiting; the handle ends when `astra::run` returned
    /// (the database stays, for the test to read).
    #[allow(dead_code)]
    pub fn signal_shutdown(&mut self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take().expect("the app is running")
    }

    /// Stops the server and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await.expect("join").expect("run");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the app with `config`, which must refuse to start; the error with its causes.
pub async fn startup_error(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = astra::run(config, listener, std::future::pending())
        .await
        .expect_err("start-up must fail");
    format!("{err:#}")
}
