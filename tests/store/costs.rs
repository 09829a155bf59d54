//! Cost reports: usage grouped by UTC day and month (text prefixes of RFC 3339 on SQLite,
//! `to_char(… AT TIME ZONE 'UTC')` on PostgreSQL, tested on a connection in UTC+14), with
//! `[from, to)` ranges — and the monthly token counter written in the same turn.

use astra::store::{Bucket, TraceRow, TurnRecord, UsageRow, ids::new_id};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;

use crate::helpers::{Owner, TestStore, at, owner, session};

/// Records a turn billing one inference call of `provider`/`model` at `when`.
async fn bill(
    db: &TestStore,
    o: &Owner,
    session_id: &str,
    when: DateTime<Utc>,
    provider: &str,
    tokens: i64,
) {
    let usage = UsageRow {
        id: new_id("use"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        agent_id: "chad".into(),
        session_id: Some(session_id.into()),
        provider: provider.into(),
        model: "m".into(),
        prompt_tokens: tokens,
        completion_tokens: 1,
        cached_tokens: 0,
        cost_usd: 0.25,
        created_at: when,
    };
    let trace = TraceRow {
        id: new_id("trc"),
        user_id: o.user_id.clone(),
        workspace_id: o.workspace_id.clone(),
        agent_id: "chad".into(),
        session_id: Some(session_id.into()),
        request_id: None,
        status: "ok".into(),
        error: None,
        prompt_tokens: tokens,
        completion_tokens: 1,
        cost_usd: 0.25,
        duration_ms: 5,
        detail: Some(Json(json!({"inference": []}))),
        started_at: when,
        finished_at: when,
    };
    let month = when.format("%Y-%m").to_string();
    let rec = TurnRecord {
        reservation: None,
        session_id: Some(session_id),
        messages: &[],
        usage: std::slice::from_ref(&usage),
        trace: &trace,
        month: &month,
        outbox: &[],
        reply: None,
    };
    db.turns().record_turn(&rec).await.expect("record turn");
}

#[tokio::test]
async fn usage_is_bucketed_by_utc_day_and_month() {
    let db = TestStore::far_from_utc().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    // Around UTC midnights. Bucketed in the connection's UTC+14 instead, the first two would
    // fall on different days and the fourth in April.
    for (when, provider) in [
        ("2024-03-01T09:59:59Z", "openai"),
        ("2024-03-01T23:30:00Z", "openai"),
        ("2024-03-02T00:30:00Z", "claude"),
        ("2024-03-31T23:59:59Z", "openai"),
        ("2024-04-01T00:00:00Z", "openai"),
    ] {
        bill(&db, &o, &s, at(when), provider, 10).await;
    }
    let days = db
        .costs()
        .workspace_usage_by_period(
            &o.workspace_id,
            at("2024-03-01T00:00:00Z"),
            at("2024-05-01T00:00:00Z"),
            Bucket::Day,
        )
        .await
        .unwrap();
    let got: Vec<(&str, i64)> = days
        .iter()
        .map(|d| (d.period.as_str(), d.totals.requests))
        .collect();
    assert_eq!(
        got,
        [
            ("2024-03-01", 2),
            ("2024-03-02", 1),
            ("2024-03-31", 1),
            ("2024-04-01", 1)
        ]
    );
    assert_eq!(days[0].totals.prompt_tokens, 20);
    assert!((days[0].totals.cost_usd - 0.5).abs() < 1e-9);

    let months = db
        .costs()
        .workspace_usage_by_period(
            &o.workspace_id,
            at("2024-03-01T00:00:00Z"),
            at("2024-05-01T00:00:00Z"),
            Bucket::Month,
        )
        .await
        .unwrap();
    let got: Vec<(&str, i64)> = months
        .iter()
        .map(|m| (m.period.as_str(), m.totals.requests))
        .collect();
    assert_eq!(got, [("2024-03", 4), ("2024-04", 1)]);

    let mine = db
        .costs()
        .user_usage_by_month(&o.user_id, at("2024-01-01T00:00:00Z"))
        .await
        .unwrap();
    let got: Vec<&str> = mine.iter().map(|m| m.period.as_str()).collect();
    assert_eq!(got, ["2024-04", "2024-03"], "newest first");
}

#[tokio::test]
async fn groups_and_ranges_are_half_open() {
    let db = TestStore::far_from_utc().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    bill(&db, &o, &s, at("2024-03-01T23:30:00Z"), "openai", 10).await;
    bill(&db, &o, &s, at("2024-03-01T23:45:00Z"), "claude", 5).await;
    bill(&db, &o, &s, at("2024-03-02T00:00:00Z"), "openai", 7).await;

    // `to` is exclusive: the row at exactly 2024-03-02T00:00Z is out.
    let groups = db
        .costs()
        .workspace_usage_groups(
            &o.workspace_id,
            at("2024-03-01T00:00:00Z"),
            at("2024-03-02T00:00:00Z"),
        )
        .await
        .unwrap();
    let got: Vec<(&str, &str, i64)> = groups
        .iter()
        .map(|g| (g.day.as_str(), g.provider.as_str(), g.totals.prompt_tokens))
        .collect();
    assert_eq!(
        got,
        [("2024-03-01", "claude", 5), ("2024-03-01", "openai", 10)]
    );
    // `from` is inclusive.
    let groups = db
        .costs()
        .workspace_usage_groups(
            &o.workspace_id,
            at("2024-03-02T00:00:00Z"),
            at("2024-03-03T00:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (groups[0].day.as_str(), groups[0].agent_id.as_str()),
        ("2024-03-02", "chad")
    );
}

#[tokio::test]
async fn the_monthly_counter_sums_the_turns_of_each_month() {
    let db = TestStore::far_from_utc().await;
    let o = owner(&db).await;
    let s = session(&db, &o, "chad").await;
    bill(&db, &o, &s, at("2024-03-31T23:59:59Z"), "openai", 10).await;
    bill(&db, &o, &s, at("2024-03-15T12:00:00Z"), "openai", 20).await;
    bill(&db, &o, &s, at("2024-04-01T00:00:00Z"), "openai", 40).await;
    assert_eq!(
        db.turns()
            .month_tokens(&o.user_id, "2024-03")
            .await
            .unwrap(),
        32
    );
    assert_eq!(
        db.turns()
            .month_tokens(&o.user_id, "2024-04")
            .await
            .unwrap(),
        41
    );
    assert_eq!(
        db.costs()
            .user_month_tokens(&o.user_id, "2024-03")
            .await
            .unwrap(),
        [("2024-04".to_string(), 41), ("2024-03".to_string(), 32)]
    );
}
