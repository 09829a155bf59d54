//! GET /users/me/usage: the caller's monthly token budget this month — used (the budget's
//! counter), reserved by running turns, remaining — and a per-day burn-down of the usage
//! records in every workspace, from the 1st to today.

use astra::{store::Store, with_pool};
use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{Answer, FakeLlm, chat_app_with, spawn_app_with};

const BUDGET: u64 = 10_000;

async fn record(
    store: &Store,
    user: &str,
    ws: &str,
    at: DateTime<Utc>,
    prompt: i64,
    completion: i64,
) {
    let id = format!("use_{}", uuid::Uuid::now_v7().simple());
    with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO usage_records (id, user_id, workspace_id, agent_id, session_id, provider, model, prompt_tokens, completion_tokens, cached_tokens, cost_usd, created_at) VALUES ($1, $2, $3, 'chad', NULL, 'openai', 'gpt-4o-mini', $4, $5, 0, 0.25, $6)")
            .bind(&id).bind(user).bind(ws).bind(prompt).bind(completion).bind(at)
            .execute(p).await.unwrap();
    });
}

fn tokens_of(days: &Value, field: &str) -> Vec<i64> {
    days.as_array()
        .unwrap()
        .iter()
        .map(|d| d[field].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_month_burns_down_from_chat_turns_and_records_of_every_day() {
    let fake = FakeLlm::start(|_, _| Answer::text("ok").usage(10, 5)).await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_tokens_per_month = BUDGET).await;
    for _ in 0..2 {
        c.chat(json!({"message": "spend"})).await.expect(200);
    }
    let store = c.store().await;
    let uid = c.user.id.clone();
    let now = Utc::now();
    let first = now.date_naive().with_day(1).unwrap();
    // The first second of the month (UTC) counts; the last second of last month and another
    // user's record do not.
    record(
        &store,
        &uid,
        &c.ws,
        first.and_hms_opt(0, 0, 1).unwrap().and_utc(),
        100,
        50,
    )
    .await;
    record(
        &store,
        &uid,
        &c.ws,
        first.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::seconds(1),
        1000,
        0,
    )
    .await;
    record(&store, "usr_someone_else", &c.ws, now, 7000, 0).await;
    // A running turn holds 40 tokens; an expired hold counts no more.
    with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO token_reservations (id, user_id, tokens, expires_at) VALUES ('tres_live', $1, 40, $2), ('tres_old', $1, 900, $3)")
            .bind(&uid).bind(now + Duration::minutes(5)).bind(now - Duration::minutes(5))
            .execute(p).await.unwrap();
    });

    let r = c.app.get("/users/me/usage", &c.token).await.expect(200);
    let b = &r.body;
    assert_eq!(b["userId"], uid.as_str());
    assert_eq!(b["month"], now.format("%Y-%m").to_string());
    assert_eq!(b["monthlyTokenBudget"], BUDGET);
    // The counter holds what the two turns billed; back-dated records never touch it.
    assert_eq!(b["monthlyTokensUsed"], 30, "{}", r.text);
    assert_eq!(b["monthlyTokensReserved"], 40);
    assert_eq!(b["monthlyTokensRemaining"], BUDGET as i64 - 30 - 40);
    let days = &b["byDay"];
    let n = now.day() as usize;
    assert_eq!(days.as_array().unwrap().len(), n);
    assert_eq!(days[0]["date"], first.to_string());
    assert_eq!(days[n - 1]["date"], now.date_naive().to_string());
    let tokens = tokens_of(days, "tokens");
    let cumulative = tokens_of(days, "cumulativeTokens");
    // The two turns (15 each) today, the 150-token record on the 1st (both when today is the 1st).
    assert_eq!(tokens.iter().sum::<i64>(), 180, "{days}");
    assert!(tokens[0] >= 150);
    assert_eq!(*tokens.last().unwrap() - if n == 1 { 150 } else { 0 }, 30);
    let mut running = 0;
    for (t, c) in tokens.iter().zip(&cumulative) {
        running += t;
        assert_eq!(running, *c);
    }
    assert_eq!(
        days[0]["requests"].as_i64().unwrap(),
        if n == 1 { 3 } else { 1 }
    );
    assert!(days[0]["costUsd"].as_f64().unwrap() >= 0.25);
}

#[tokio::test]
async fn no_budget_is_null_and_a_new_user_has_an_empty_month() {
    let app = spawn_app_with(|cfg| cfg.limits.user_tokens_per_month = 0).await;
    let (token, uid, _) = app.register("usage-empty@example.com").await;
    let r = app.get("/users/me/usage", &token).await.expect(200);
    assert_eq!(r.body["userId"], uid.as_str());
    assert!(r.body["monthlyTokenBudget"].is_null(), "{}", r.text);
    assert!(r.body["monthlyTokensRemaining"].is_null());
    assert_eq!(r.body["monthlyTokensUsed"], 0);
    assert_eq!(r.body["monthlyTokensReserved"], 0);
    let days = &r.body["byDay"];
    assert_eq!(days.as_array().unwrap().len(), Utc::now().day() as usize);
    assert!(tokens_of(days, "cumulativeTokens").iter().all(|t| *t == 0));
    app.get("/users/me/usage", "not-a-token")
        .await
        .expect_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_spent_budget_has_nothing_remaining() {
    let app = spawn_app_with(|cfg| cfg.limits.user_tokens_per_month = 100).await;
    let (token, uid, _) = app.register("usage-spent@example.com").await;
    let store = app.store().await;
    let month = Utc::now().format("%Y-%m").to_string();
    with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO user_monthly_tokens (user_id, month, tokens) VALUES ($1, $2, 130)")
            .bind(&uid).bind(&month).execute(p).await.unwrap();
    });
    let r = app.get("/users/me/usage", &token).await.expect(200);
    assert_eq!(r.body["monthlyTokenBudget"], 100);
    assert_eq!(r.body["monthlyTokensUsed"], 130);
    assert_eq!(r.body["monthlyTokensRemaining"], 0);
}
