//! PostgreSQL restart under load, with the real binary: the test starts a PostgreSQL server of
//! its own (`initdb` + `pg_ctl` from `/usr/lib/postgresql/*/bin`, in a temp dir, on a free port;
//! never the machine's shared cluster), runs `astra serve` on it, puts it under load (clients
//! doing authenticated reads and chat turns against the fake LLM), stops the server with a fast
//! shutdown for [`OUTAGE`], starts it again, and checks what the README promises:
//! - every answer is a 2xx or a 503 `DATABASE_UNAVAILABLE` (no other 5xx, no 4xx, no broken
//!   connection), and none takes longer than the acquire timeout plus [`SLACK`];
//! - `/readiness` says `database: down` during the outage;
//! - requests succeed again within 5 s of the server accepting connections, and every request
//!   started later succeeds;
//! - no accepted turn is lost: every chat turn answered 200 has its user message and its reply
//!   in the database afterwards.
//!
//! Runs on either suite (it needs no `ASTRA_TEST_DATABASE_URL`); skipped, with a message, on a
//! machine without the PostgreSQL server binaries.

mod procs;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::*;
use procs::{Gateway, OwnPostgres, server_binaries};

/// How long a request waits for a pooled connection (`ASTRA_DB_ACQUIRE_TIMEOUT` of the test).
const ACQUIRE: Duration = Duration::from_secs(2);
/// What a request may take beyond the acquire timeout on a loaded machine before it counts
/// as a hang: generous, because this test runs next to the whole suite on 2 cores (a run there
/// saw a 5.x s request); a hang is unbounded, so it still shows.
const SLACK: Duration = Duration::from_secs(8);
/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(8);
/// Load before the outage, and after the server is back.
const BEFORE: Duration = Duration::from_secs(3);
const AFTER: Duration = Duration::from_secs(7);
/// The promised recovery: requests succeed again within this of the server's return.
const RECOVERY: Duration = Duration::from_secs(5);

/// One request of the load and how it ended.
#[derive(Debug, Clone)]
struct Sample {
    what: &'static str,
    /// Since the load began.
    started: Duration,
    took: Duration,
    /// HTTP status, or 0 when no answer came (connection error or client timeout).
    status: u16,
    body: Value,
    /// The chat message sent, for turns.
    message: Option<String>,
}

impl Sample {
    fn ended(&self) -> Duration {
        self.started + self.took
    }
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends one request and records it.
async fn sample(
    t0: Instant,
    what: &'static str,
    message: Option<String>,
    req: reqwest::RequestBuilder,
) -> Sample {
    let started = t0.elapsed();
    let at = Instant::now();
    let (status, body) = match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, json!(e.to_string())),
    };
    Sample {
        what,
        started,
        took: at.elapsed(),
        status,
        body,
        message,
    }
}

/// Runs until `stop`: reads (`/workspaces`, `/sessions`) on even clients, chat turns (each
/// message unique) on odd ones.
async fn client(
    gw: Arc<String>,
    user: (String, String),
    n: usize,
    t0: Instant,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<Sample>>>,
) {
    // No request may hang: the client gives up well after the promised bound, and a give-up
    // is recorded as status 0.
    let http = reqwest::Client::builder()
        .timeout(ACQUIRE + SLACK + Duration::from_secs(10))
        .build()
        .unwrap();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let s = if n.is_multiple_of(2) {
            let path = if i.is_multiple_of(2) {
                "/workspaces"
            } else {
                "/sessions?limit=5"
            };
            let req = http
                .get(format!("{gw}{path}"))
                .bearer_auth(&user.0)
                .header("x-workspace-id", &user.1);
            sample(t0, "read", None, req).await
        } else {
            let message = format!("turn {n}-{i}");
            let req = http
                .post(format!("{gw}/agent/chat"))
                .bearer_auth(&user.0)
                .header("x-workspace-id", &user.1)
                .json(&json!({ "message": message }));
            sample(t0, "chat", Some(message), req).await
        };
        out.lock().unwrap().push(s);
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `/readiness` every 200 ms until `stop`.
async fn readiness(
    gw: Arc<String>,
    t0: Instant,
    stop: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<Sample>>>,
) {
    let http = reqwest::Client::builder()
        .timeout(ACQUIRE + SLACK + Duration::from_secs(10))
        .build()
        .unwrap();
    while !stop.load(Ordering::Relaxed) {
        let s = sample(t0, "readiness", None, http.get(format!("{gw}/readiness"))).await;
        out.lock().unwrap().push(s);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// The figures line is printed for the README (`--nocapture`), the skip reason for whoever runs it.
#[allow(clippy::print_stdout, clippy::print_stderr)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_under_load_answers_only_503_and_recovers_within_5_s() {
    let Some(bin) = server_binaries() else {
        eprintln!(
            "skipped: no PostgreSQL server binaries (initdb, pg_ctl, postgres) under \
             /usr/lib/postgresql/*/bin"
        );
        return;
    };
    let pg = Arc::new(
        tokio::task::spawn_blocking(move || OwnPostgres::start_new(bin))
            .await
            .unwrap(),
    );
    // The reply names the message it answers, so each stored reply can be matched to its turn.
    let fake = FakeLlm::start(|req: &Value, _| {
        let last = req["messages"]
            .as_array()
            .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default();
        // Slow enough that the fast shutdown catches turns between their first query and
        // their recording.
        Answer::chunks(&["re: ", last]).slow(Duration::from_millis(100))
    })
    .await;
    let gw = Gateway::start(&pg, &fake).await;
    let setup = reqwest::Client::new();
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(gw.user(&setup).await);
    }

    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let base = Arc::new(gw.base.clone());
    let mut tasks = Vec::new();
    for n in 0..6 {
        tasks.push(tokio::spawn(client(
            base.clone(),
            users[n % users.len()].clone(),
            n,
            t0,
            stop.clone(),
            samples.clone(),
        )));
    }
    tasks.push(tokio::spawn(readiness(
        base.clone(),
        t0,
        stop.clone(),
        samples.clone(),
    )));

    tokio::time::sleep(BEFORE).await;
    let stopping = t0.elapsed();
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.stop("fast"))
        .await
        .unwrap();
    let down = t0.elapsed();
    tokio::time::sleep(OUTAGE).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.start())
        .await
        .unwrap();
    let up = t0.elapsed();
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let samples = samples.lock().unwrap().clone();
    let (checks, load): (Vec<&Sample>, Vec<&Sample>) =
        samples.iter().partition(|s| s.what == "readiness");

    // Every answer: a 2xx, or a 503 DATABASE_UNAVAILABLE; each within the bound.
    let bad: Vec<&&Sample> = load
        .iter()
        .filter(|s| !(s.ok() || (s.status == 503 && s.body["code"] == "DATABASE_UNAVAILABLE")))
        .collect();
    let slowest = samples
        .iter()
        .max_by_key(|s| s.took)
        .expect("some requests");
    let unavailable = load.iter().filter(|s| s.status == 503).count();
    let other_5xx = load
        .iter()
        .filter(|s| s.status >= 500 && s.status != 503)
        .count();
    let first_ok_after_up = load
        .iter()
        .filter(|s| s.ok() && s.started >= up)
        .map(|s| s.ended())
        .min();
    let recovery = first_ok_after_up.map(|t| t - up);
    let turns: Vec<&&Sample> = load
        .iter()
        .filter(|s| s.what == "chat" && s.status == 200)
        .collect();
    println!(
        "pg restart: {} requests ({} reads, {} turns), {} ok, {} 503 DATABASE_UNAVAILABLE, \
         {} other 5xx, {} other failures; {} readiness checks; fast shutdown took {} ms, \
         PostgreSQL down {} ms; slowest request {} ms ({} {}); recovery {:?} ms after the server \
         accepted connections; {} turns answered 200",
        load.len(),
        load.iter().filter(|s| s.what == "read").count(),
        load.iter().filter(|s| s.what == "chat").count(),
        load.iter().filter(|s| s.ok()).count(),
        unavailable,
        other_5xx,
        bad.len(),
        checks.len(),
        (down - stopping).as_millis(),
        (up - down).as_millis(),
        slowest.took.as_millis(),
        slowest.what,
        slowest.status,
        recovery.map(|r| r.as_millis()),
        turns.len(),
    );
    assert!(
        bad.is_empty(),
        "only 2xx and 503 DATABASE_UNAVAILABLE: {:?}\n{}",
        &bad[..bad.len().min(5)],
        gw.log()
    );
    assert!(
        slowest.took < ACQUIRE + SLACK,
        "a request hung: {slowest:?}"
    );
    assert!(
        unavailable > 0,
        "the outage was never seen: the test did not test it"
    );

    // /readiness said so during the outage, and is ready again at the end.
    assert!(
        checks.iter().any(|s| s.started >= down
            && s.ended() <= up
            && s.status == 503
            && s.body["database"] == "down"),
        "readiness never said database down: {checks:?}"
    );
    assert!(
        checks
            .iter()
            .all(|s| s.status == 200 || (s.status == 503 && s.body["ready"] == false)),
        "{checks:?}"
    );
    let last = checks.iter().max_by_key(|s| s.started).unwrap();
    assert_eq!(last.status, 200, "ready again at the end: {last:?}");

    // Back within 5 s of the server's return; everything started after that succeeds.
    let recovery = recovery.expect("no request succeeded after the restart");
    assert!(recovery < RECOVERY, "recovered after {recovery:?}");
    let late: Vec<&&Sample> = load
        .iter()
        .filter(|s| s.started >= up + RECOVERY && !s.ok())
        .collect();
    assert!(late.is_empty(), "failed after recovery: {late:?}");
    assert!(
        load.iter().any(|s| s.started >= up + RECOVERY),
        "no load after recovery"
    );

    // No accepted turn lost: each 200 turn's user message and reply are stored.
    let db = sqlx::PgPool::connect(&pg.url()).await.expect("connect");
    for t in &turns {
        let message = t.message.as_deref().unwrap();
        assert_eq!(t.body["content"], format!("re: {message}"), "{t:?}");
        let session = t.body["sessionId"].as_str().expect("sessionId");
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT role, content FROM messages WHERE session_id = $1 ORDER BY created_at",
        )
        .bind(session)
        .fetch_all(&db)
        .await
        .unwrap();
        let has = |role: &str, content: &str| rows.iter().any(|r| r.0 == role && r.1 == content);
        assert!(
            has("user", message) && has("assistant", &format!("re: {message}")),
            "turn {message} answered 200 but not stored: {rows:?}"
        );
    }
    assert!(!turns.is_empty());
    // Turns the outage cut after their user message was stored (their recording failed):
    // answered 503, so the client knows to retry.
    let mut cut = 0;
    for t in load.iter().filter(|s| s.what == "chat" && s.status == 503) {
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages WHERE role = 'user' AND content = $1",
        )
        .bind(t.message.as_deref().unwrap())
        .fetch_one(&db)
        .await
        .unwrap();
        cut += stored;
    }
    println!("pg restart: {cut} turns answered 503 after their user message was stored");
    db.close().await;
    drop(gw);
}
