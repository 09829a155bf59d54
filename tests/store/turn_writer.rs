//! Group commit: concurrent turns share transactions (one multi-row statement per table) and
//! every row of every turn is written; a bad turn in a batch fails only its own caller; closing
//! the store writes everything already queued.

use astra::store::{
    MessageRow, Reservation, Store, TraceRow, TurnRecord, UsageRow, ids::new_id, stored_now,
};
use chrono::Utc;
use serde_json::json;
use sqlx::types::Json;
use tokio_util::task::TaskTracker;

use crate::helpers::{
    Owner, TestStore, delivery, message, owner, reply_delivery, session, webhook,
};

/// Rows of `table` (a constant of these tests).
async fn count(store: &Store, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    astra::with_pool!(store.pool(), p => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await.unwrap()
    })
}

/// One finished turn: a reply, one billed call of 10 + 2 tokens, its trace, and optionally a
/// reservation and an outbox row.
struct Turn {
    session_id: String,
    reply: MessageRow,
    usage: UsageRow,
    trace: TraceRow,
    month: String,
    reservation: Option<String>,
    outbox: Vec<astra::store::DeliveryRow>,
    webhook_reply: Option<astra::store::ReplyDeliveryRow>,
}

impl Turn {
    fn new(o: &Owner, session_id: &str, trace_id: &str) -> Self {
        let now = stored_now();
        let usage = UsageRow {
            id: new_id("use"),
            user_id: o.user_id.clone(),
            workspace_id: o.workspace_id.clone(),
            agent_id: "chad".into(),
            session_id: Some(session_id.into()),
            provider: "openai".into(),
            model: "m".into(),
            prompt_tokens: 10,
            completion_tokens: 2,
            cached_tokens: 0,
            cost_usd: 0.5,
            created_at: now,
        };
        let trace = TraceRow {
            id: trace_id.into(),
            user_id: o.user_id.clone(),
            workspace_id: o.workspace_id.clone(),
            agent_id: "chad".into(),
            session_id: Some(session_id.into()),
            request_id: None,
            status: "ok".into(),
            error: None,
            prompt_tokens: 10,
            completion_tokens: 2,
            cost_usd: 0.5,
            duration_ms: 3,
            detail: Some(Json(json!({"inference": []}))),
            started_at: now,
            finished_at: now,
        };
        Self {
            session_id: session_id.into(),
            reply: message(session_id, "assistant", "hi", now),
            usage,
            trace,
            month: now.format("%Y-%m").to_string(),
            reservation: None,
            outbox: Vec::new(),
            webhook_reply: None,
        }
    }

    /// Queues the turn's reply for a `webhookUrl`, as an asynchronous chat does.
    fn with_webhook_reply(mut self, o: &Owner) -> Self {
        let now = self.trace.finished_at;
        self.webhook_reply = Some(reply_delivery(o, &self.session_id, now));
        self
    }

    async fn record(&self, store: &Store) -> Result<(), sqlx::Error> {
        let rec = TurnRecord {
            session_id: Some(&self.session_id),
            messages: std::slice::from_ref(&self.reply),
            usage: std::slice::from_ref(&self.usage),
            trace: &self.trace,
            month: &self.month,
            reservation: self.reservation.as_deref(),
            outbox: &self.outbox,
            reply: self.webhook_reply.as_ref(),
        };
        store.turns().record_turn(&rec).await
    }
}

/// Spawns `turns` (each with its user message first, as a turn does) and waits for all.
async fn run_turns(store: &Store, turns: Vec<Turn>) -> Vec<Result<(), sqlx::Error>> {
    let tracker = TaskTracker::new();
    let tasks: Vec<_> = turns
        .into_iter()
        .map(|t| {
            let store = store.clone();
            tracker.spawn(async move {
                let asked = message(&t.session_id, "user", "hello", t.trace.started_at);
                // A turn with a `webhookUrl` writes its reply's placeholder with the message.
                let awaiting = t
                    .webhook_reply
                    .clone()
                    .map(|r| astra::store::ReplyDeliveryRow {
                        status: "running".into(),
                        body: "{\"code\":\"lost\"}".into(),
                        ..r
                    });
                store
                    .turns()
                    .record_user_message(asked, awaiting, t.trace.started_at)
                    .await?;
                t.record(&store).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn concurrent_turns_share_transactions_and_every_row_is_written() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let sessions = [
        session(&db, &o, "chad").await,
        session(&db, &o, "chad").await,
        session(&db, &o, "chad").await,
    ];
    let now = Utc::now();
    let month = now.format("%Y-%m").to_string();
    let n = 120;
    let mut turns = Vec::new();
    for i in 0..n {
        let mut t = Turn::new(&o, &sessions[i % 3], &new_id("trc"));
        if i % 2 == 0 {
            t = t.with_webhook_reply(&o);
        }
        let id = new_id("tres");
        let reserved = db
            .budgets()
            .reserve(&Reservation {
                id: &id,
                user_id: &o.user_id,
                month: &month,
                admit: 1,
                hold: 1,
                budget: 1_000_000,
                now,
                expires_at: now + chrono::Duration::minutes(5),
            })
            .await
            .unwrap();
        assert!(reserved);
        t.reservation = Some(id);
        t.outbox = vec![delivery(&hook, "chat.completed", now)];
        turns.push(t);
    }
    assert_eq!(count(&db, "token_reservations").await, n as i64);
    let before = db.turns().writer_stats();

    let results = run_turns(&db, turns).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");

    let after = db.turns().writer_stats();
    let writes = after.writes - before.writes;
    let commits = after.commits - before.commits;
    assert_eq!(writes, 2 * n as u64, "a user message and a turn each");
    // Unbatched, this is 240 transactions; each batch holds up to 64 writes.
    assert!(
        commits <= (2 * n as u64) / 4,
        "{commits} transactions for {writes} writes"
    );
    assert_eq!(count(&db, "messages").await, 2 * n as i64);
    assert_eq!(count(&db, "usage_records").await, n as i64);
    assert_eq!(count(&db, "traces").await, n as i64);
    assert_eq!(count(&db, "webhook_deliveries").await, n as i64);
    assert_eq!(count(&db, "reply_deliveries").await, n as i64 / 2);
    let (replies, _) = db
        .reply_deliveries()
        .of_user(&o.user_id, 100, 0)
        .await
        .unwrap();
    assert!(
        replies
            .iter()
            .all(|r| r.status == "pending" && r.body == "{}"),
        "every placeholder was replaced by its turn's reply"
    );
    assert_eq!(count(&db, "token_reservations").await, 0);
    assert_eq!(
        db.turns().month_tokens(&o.user_id, &month).await.unwrap(),
        12 * n as i64,
        "the monthly counter summed per user and month"
    );
    for s in &sessions {
        let row = db.sessions().session(s).await.unwrap().unwrap();
        assert_eq!(row.message_count, 2 * n as i64 / 3, "counters per session");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_turn_in_a_batch_fails_only_its_caller() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let taken = new_id("trc");
    Turn::new(&o, &s, &taken).record(&db).await.unwrap();
    let before = db.turns().writer_stats();

    // Spawned together on one thread: all are queued before the writer runs, so they share
    // a batch, which fails on the duplicate trace id and is retried turn by turn.
    let tracker = TaskTracker::new();
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let id = if i == 4 { taken.clone() } else { new_id("trc") };
            let turn = Turn::new(&o, &s, &id);
            let store = db.store.clone();
            tracker.spawn(async move { turn.record(&store).await })
        })
        .collect();
    let mut failed = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if task.await.unwrap().is_err() {
            failed.push(i);
        }
    }
    assert_eq!(failed, vec![4], "only the turn reusing a trace id fails");
    let after = db.turns().writer_stats();
    assert!(
        after.retried_alone - before.retried_alone >= 2,
        "the batch was split: {after:?}"
    );
    assert_eq!(count(&db, "traces").await, 10);
    assert_eq!(
        count(&db, "messages").await,
        10,
        "the bad turn's reply is not"
    );
    assert_eq!(count(&db, "usage_records").await, 10);
    let row = db.sessions().session(&s).await.unwrap().unwrap();
    assert_eq!(row.message_count, 10);
}

#[tokio::test(flavor = "current_thread")]
async fn closing_the_store_writes_every_queued_turn() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let n = 100;
    let tracker = TaskTracker::new();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let turn = Turn::new(&o, &s, &new_id("trc"));
            let store = db.store.clone();
            tracker.spawn(async move { turn.record(&store).await })
        })
        .collect();
    // Closed before the spawned turns ran: they queue while the writer is told to stop, and
    // every one accepted is written before `close` returns.
    db.store.close().await;
    for task in tasks {
        task.await.unwrap().expect("an accepted turn is written");
    }
    let late = Turn::new(&o, &s, &new_id("trc"));
    assert!(late.record(&db).await.is_err(), "refused after close");

    let reopened = Store::connect(&(&db.config()).into()).await.unwrap();
    assert_eq!(count(&reopened, "traces").await, n);
    assert_eq!(count(&reopened, "messages").await, n);
    let row = reopened.sessions().session(&s).await.unwrap().unwrap();
    assert_eq!(row.message_count, n);
    reopened.close().await;
}
