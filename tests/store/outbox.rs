//! The transactional outbox: an event's deliveries are written in the transaction of the state
//! change causing it (turn recorded, job finished, monitor run stored), so when that
//! transaction fails after the deliveries were inserted, neither the change nor the event
//! exists — and when it commits, both do.

use astra::store::{
    DeliveryOutcome, JobFinish, JobRow, RunRow, Store, TraceRow, TurnRecord, ids::new_id,
};
use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::helpers::{Owner, TestStore, delivery, owner, reply_delivery, session, webhook};

async fn deliveries(store: &Store, hook: &str) -> i64 {
    store.webhooks().deliveries_of(hook, 10, 0).await.unwrap().1
}

fn trace(o: &Owner, id: &str, session_id: &str) -> TraceRow {
    let now = Utc::now();
    TraceRow {
        id: id.into(),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        agent_id: "chad".into(),
        session_id: Some(session_id.into()),
        request_id: None,
        status: "ok".into(),
        error: None,
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        duration_ms: 1,
        detail: Some(Json(json!({}))),
        started_at: now,
        finished_at: now,
    }
}

#[tokio::test]
async fn a_turn_and_its_event_are_written_together_or_not_at_all() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let s = session(&db, &o, "chad").await;
    let first = trace(&o, &new_id("trc"), &s);
    let month = Utc::now().format("%Y-%m").to_string();
    let ok = [delivery(&hook, "chat.completed", Utc::now())];
    let ok_reply = reply_delivery(&o, &s, Utc::now());
    let rec = |trace, outbox, reply| TurnRecord {
        session_id: Some(&s),
        messages: &[],
        usage: &[],
        trace,
        month: &month,
        reservation: None,
        outbox,
        reply,
    };
    db.turns()
        .record_turn(&rec(&first, &ok, Some(&ok_reply)))
        .await
        .unwrap();
    assert_eq!(
        deliveries(&db, &hook).await,
        1,
        "committed: the event exists"
    );

    // A second turn whose trace insert (after its deliveries) fails: same trace id.
    let lost = [delivery(&hook, "chat.completed", Utc::now())];
    let lost_reply = reply_delivery(&o, &s, Utc::now());
    let again = trace(&o, &first.id, &s);
    assert!(
        db.turns()
            .record_turn(&rec(&again, &lost, Some(&lost_reply)))
            .await
            .is_err()
    );
    assert_eq!(deliveries(&db, &hook).await, 1, "rolled back: no event");
    let (kept, _) = db.webhooks().deliveries_of(&hook, 10, 0).await.unwrap();
    assert_eq!(kept[0].id, ok[0].id);
    // The `webhookUrl` reply goes with its turn the same way.
    let (replies, total) = db
        .reply_deliveries()
        .of_user(&o.user_id, 10, 0)
        .await
        .unwrap();
    assert_eq!(total, 1, "rolled back: no reply");
    assert_eq!(replies[0].id, ok_reply.id);
}

fn job(o: &Owner) -> JobRow {
    let now = Utc::now();
    JobRow {
        id: new_id("job"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        job_type: "noop".into(),
        payload: Json(json!({})),
        status: "pending".into(),
        max_retries: 0,
        timeout_seconds: 30,
        attempts: 0,
        run_at: now,
        result: None,
        error: None,
        created_at: now,
        started_at: None,
        finished_at: None,
    }
}

#[tokio::test]
async fn a_job_end_and_its_event_are_written_together_or_not_at_all() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let j = job(&o);
    db.jobs().insert_job(&j).await.unwrap();
    let now = Utc::now();
    db.jobs()
        .claim_jobs(now, now + Duration::minutes(5), 1)
        .await
        .unwrap();
    let done = JobFinish {
        status: "completed",
        result: Some(json!({"ok": true})),
        error: None,
        run_at: now,
        finished_at: Some(now),
    };
    // The second delivery repeats the first's id: the transaction fails after the update.
    let d = delivery(&hook, "job.completed", Utc::now());
    let dup = [d.clone(), d.clone()];
    assert!(db.jobs().finish_job(&j.id, 1, &done, &dup).await.is_err());
    let stored = db
        .jobs()
        .job(&o.workspace_id, &j.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "running", "the job's end was rolled back");
    assert_eq!(deliveries(&db, &hook).await, 0);

    // A lost claim writes neither.
    assert!(
        !db.jobs()
            .finish_job(&j.id, 7, &done, std::slice::from_ref(&d))
            .await
            .unwrap()
    );
    assert_eq!(deliveries(&db, &hook).await, 0);

    assert!(db.jobs().finish_job(&j.id, 1, &done, &[d]).await.unwrap());
    let stored = db
        .jobs()
        .job(&o.workspace_id, &j.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "completed");
    assert_eq!(deliveries(&db, &hook).await, 1);
}

#[tokio::test]
async fn a_monitor_run_and_its_event_are_written_together_or_not_at_all() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let hook = webhook(&db, &o).await;
    let now = Utc::now();
    let m = astra::store::MonitorRow {
        id: new_id("hb"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        name: "site".into(),
        monitor_type: "http".into(),
        url: "https://example.com".into(),
        interval_minutes: 5,
        enabled: true,
        config: Json(json!({})),
        next_run_at: now,
        last_status: None,
        last_run_at: None,
        seen: Json(vec![]),
        created_at: now,
        updated_at: now,
    };
    db.heartbeat().insert_monitor(&m).await.unwrap();
    let run = RunRow {
        id: new_id("hbr"),
        monitor_id: m.id.clone(),
        status: "error".into(),
        latency_ms: 3,
        detail: Json(json!({})),
        started_at: now,
    };
    let next = now + Duration::minutes(5);
    let failed = [delivery(&hook, "heartbeat.failed", Utc::now())];
    db.heartbeat()
        .record_monitor_run(&run, next, &[], &failed)
        .await
        .unwrap();
    assert_eq!(deliveries(&db, &hook).await, 1);
    // The same run id again: the run insert fails after the delivery insert.
    let lost = [delivery(&hook, "heartbeat.failed", Utc::now())];
    assert!(
        db.heartbeat()
            .record_monitor_run(&run, next, &[], &lost)
            .await
            .is_err()
    );
    assert_eq!(deliveries(&db, &hook).await, 1);
}

/// Records a turn of `o` in session `s` that wrote nothing but its trace and `reply`.
async fn record_reply(db: &Store, o: &Owner, s: &str, reply: &astra::store::ReplyDeliveryRow) {
    let t = trace(o, &new_id("trc"), s);
    let month = Utc::now().format("%Y-%m").to_string();
    db.turns()
        .record_turn(&TurnRecord {
            session_id: Some(s),
            messages: &[],
            usage: &[],
            trace: &t,
            month: &month,
            reservation: None,
            outbox: &[],
            reply: Some(reply),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_recorded_reply_is_claimed_with_a_lease_and_only_its_current_claim_finishes_it() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let r = reply_delivery(&o, &s, Utc::now());
    record_reply(&db, &o, &s, &r).await;
    let t0 = Utc::now();
    let first = db
        .reply_deliveries()
        .claim(t0, t0 + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].id.as_str(), first[0].attempts),
        (r.id.as_str(), 1)
    );
    // Leased: nobody else gets it until the lease runs out, then it comes back.
    let t1 = t0 + Duration::seconds(29);
    assert!(
        db.reply_deliveries()
            .claim(t1, t1, 5)
            .await
            .unwrap()
            .is_empty()
    );
    let t2 = t0 + Duration::seconds(31);
    let second = db
        .reply_deliveries()
        .claim(t2, t2 + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(second[0].attempts, 2);
    let outcome = |status: &'static str| DeliveryOutcome {
        status,
        response_status: Some(200),
        error: None,
        next_attempt_at: t2,
        delivered_at: Some(t2),
    };
    let replies = db.reply_deliveries();
    replies
        .finish(&r.id, 2, &outcome("delivered"))
        .await
        .unwrap();
    replies.finish(&r.id, 1, &outcome("failed")).await.unwrap();
    let stored = replies.get(&o.user_id, &r.id).await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.attempts), ("delivered", 2));
    assert!(replies.get("usr_other", &r.id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_reply_placeholder_is_never_claimed_and_is_released_as_lost_only_past_its_deadline() {
    let db = TestStore::new().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    let now = Utc::now();
    let deadline = now + Duration::seconds(90);
    // Two turns accepted with a `webhookUrl`: each wrote its placeholder with its user message.
    let placeholder = |at| astra::store::ReplyDeliveryRow {
        status: "running".into(),
        body: "{\"code\":\"SERVICE_UNAVAILABLE\"}".into(),
        next_attempt_at: at,
        ..reply_delivery(&o, &s, now)
    };
    let (recorded, lost) = (placeholder(deadline), placeholder(deadline));
    for p in [&recorded, &lost] {
        let message = crate::helpers::message(&s, "user", "hi", now);
        db.turns()
            .record_user_message(message, Some(p.clone()), now)
            .await
            .unwrap();
    }
    let replies = db.reply_deliveries();
    let late = deadline + Duration::seconds(1);
    // Running turns' replies are not sent, however late the claim.
    assert!(replies.claim(late, late, 5).await.unwrap().is_empty());
    assert_eq!(replies.release_interrupted(now).await.unwrap(), 0);
    // The first turn is recorded: its reply replaces the placeholder and is due at once.
    let reply = astra::store::ReplyDeliveryRow {
        body: "{\"content\":\"hello\"}".into(),
        ..reply_delivery(&o, &s, now)
    };
    let reply = astra::store::ReplyDeliveryRow {
        id: recorded.id.clone(),
        ..reply
    };
    record_reply(&db, &o, &s, &reply).await;
    let claimed = replies
        .claim(now, now + Duration::hours(1), 5)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].id.as_str(), claimed[0].body.as_str()),
        (recorded.id.as_str(), "{\"content\":\"hello\"}")
    );
    // The second turn's process died: past the deadline its placeholder goes as it is.
    assert_eq!(replies.release_interrupted(late).await.unwrap(), 1);
    let released = replies
        .claim(late, late + Duration::seconds(30), 5)
        .await
        .unwrap();
    assert_eq!(released.len(), 1);
    assert_eq!(
        (released[0].id.as_str(), released[0].body.as_str()),
        (lost.id.as_str(), "{\"code\":\"SERVICE_UNAVAILABLE\"}")
    );
    // A recording that comes after the release does not change what is being sent.
    let too_late = astra::store::ReplyDeliveryRow {
        id: lost.id.clone(),
        ..reply.clone()
    };
    record_reply(&db, &o, &s, &too_late).await;
    let stored = replies.get(&o.user_id, &lost.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.body.as_str()),
        ("sending", "{\"code\":\"SERVICE_UNAVAILABLE\"}")
    );
}
