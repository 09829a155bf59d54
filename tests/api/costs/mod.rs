//! GET /costs and GET /costs/breakdown over chat turns and back-dated usage records.

use crate::helpers::{FakeLlm, User, chat_app};
use astra::{store::Store, with_pool};
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use serde_json::{Value, json};

/// Inserts one usage record.
async fn usage(
    store: &Store,
    ws: &str,
    user: &str,
    provider: &str,
    agent: &str,
    at: DateTime<Utc>,
    cost: f64,
) {
    let id = format!("use_{}", uuid::Uuid::now_v7().simple());
    with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO usage_records (id, user_id, workspace_id, agent_id, session_id, provider, model, prompt_tokens, completion_tokens, cached_tokens, cost_usd, created_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, 100, 50, 0, $7, $8)")
            .bind(&id).bind(user).bind(ws).bind(agent).bind(provider).bind(format!("{provider}-model"))
            .bind(cost).bind(at).execute(p).await.unwrap();
    });
}

fn month_start(months_ago: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    today
        .with_day(1)
        .unwrap()
        .checked_sub_months(Months::new(months_ago))
        .unwrap()
}

fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 30, 0).unwrap().and_utc()
}

fn close(a: &Value, b: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() < 1e-9
}

#[tokio::test]
async fn costs_sum_chat_turns_and_bucket_by_utc_month_and_day() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    for _ in 0..3 {
        c.chat(json!({"message": "spend"})).await.expect(200);
    }
    let store = c.store().await;
    let uid = c.user.id.clone();
    let last_month = month_start(1);
    // First minutes of last month (UTC) and two months ago; outside the window: four months ago.
    usage(
        &store,
        &c.ws,
        &uid,
        "claude",
        "archivist",
        at(last_month, 0),
        2.5,
    )
    .await;
    usage(
        &store,
        &c.ws,
        &uid,
        "claude",
        "archivist",
        at(last_month, 23),
        2.5,
    )
    .await;
    usage(
        &store,
        &c.ws,
        &uid,
        "gemini",
        "chad",
        at(month_start(2), 12),
        1.0,
    )
    .await;
    usage(
        &store,
        &c.ws,
        &uid,
        "gemini",
        "chad",
        at(month_start(4), 12),
        100.0,
    )
    .await;

    let r = c.app.get("/costs", &c.token).await.expect(200);
    assert_eq!(
        (r.body["workspaceId"].as_str(), r.body["months"].as_i64()),
        (Some(c.ws.as_str()), Some(3))
    );
    let months = r.body["byMonth"].as_array().unwrap();
    let keys: Vec<String> = (0..3)
        .rev()
        .map(|n| month_start(n).format("%Y-%m").to_string())
        .collect();
    assert_eq!(
        months
            .iter()
            .map(|m| m["month"].as_str().unwrap())
            .collect::<Vec<_>>(),
        keys
    );
    let now = &months[2];
    assert_eq!(
        (
            now["requests"].as_i64(),
            now["promptTokens"].as_i64(),
            now["completionTokens"].as_i64()
        ),
        (Some(3), Some(30), Some(15))
    );
    let turn_cost = now["costUsd"].as_f64().unwrap();
    assert!(turn_cost > 0.0, "gpt-4o-mini is priced: {}", r.text);
    assert!(close(&months[1]["costUsd"], 5.0) && months[1]["requests"] == 2);
    assert!(close(&months[0]["costUsd"], 1.0));
    assert!(
        close(&r.body["totalCostUsd"], turn_cost + 6.0),
        "{}",
        r.text
    );
    assert_eq!(r.body["totalTokens"], 45 + 3 * 150);
    let one = c.app.get("/costs?months=1", &c.token).await.expect(200);
    assert_eq!(one.body["byMonth"].as_array().unwrap().len(), 1);
    let all = c.app.get("/costs?months=24", &c.token).await.expect(200);
    assert!(close(&all.body["totalCostUsd"], turn_cost + 106.0));

    // Breakdown of last month's first day through today.
    let today = Utc::now().date_naive();
    let path = format!("/costs/breakdown?startDate={last_month}&endDate={today}");
    let b = c.app.get(&path, &c.token).await.expect(200);
    assert_eq!(
        (b.body["from"].as_str(), b.body["to"].as_str()),
        (
            Some(last_month.to_string().as_str()),
            Some(today.to_string().as_str())
        )
    );
    assert!(
        close(&b.body["totalCostUsd"], turn_cost + 5.0),
        "{}",
        b.text
    );
    let providers = b.body["byProvider"].as_array().unwrap();
    assert_eq!(
        providers
            .iter()
            .map(|p| p["provider"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["claude", "openai"]
    );
    assert_eq!(providers[1]["requests"], 3);
    let models: Vec<(&str, &str)> = b.body["byModel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["provider"].as_str().unwrap(),
                m["model"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        models,
        vec![("claude", "claude-model"), ("openai", "gpt-4o-mini")]
    );
    let agents: Vec<&str> = b.body["byAgent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agentId"].as_str().unwrap())
        .collect();
    assert_eq!(agents, vec!["archivist", "chad"]);
    let days = b.body["byDay"].as_array().unwrap();
    assert_eq!(days.len() as i64, (today - last_month).num_days() + 1);
    assert_eq!(days[0]["date"], last_month.to_string());
    assert!(close(&days[0]["costUsd"], 5.0) && days[0]["requests"] == 2);
    assert_eq!(days.last().unwrap()["requests"], 3);
    // Each day is split by model (what the console stacks its bars by): the parts add up.
    for day in days {
        let parts = day["byModel"].as_array().unwrap();
        let requests: i64 = parts.iter().map(|m| m["requests"].as_i64().unwrap()).sum();
        let cost: f64 = parts.iter().map(|m| m["costUsd"].as_f64().unwrap()).sum();
        assert_eq!(requests, day["requests"].as_i64().unwrap(), "{day}");
        assert!(
            (cost - day["costUsd"].as_f64().unwrap()).abs() < 1e-9,
            "{day}"
        );
        assert!(parts.iter().all(|m| m["model"].is_string()), "{day}");
    }
    assert!(!days[0]["byModel"].as_array().unwrap().is_empty());
    // Default: the current month.
    let current = c.app.get("/costs/breakdown", &c.token).await.expect(200);
    assert_eq!(current.body["from"], month_start(0).to_string());
    assert!(close(&current.body["totalCostUsd"], turn_cost));
    let two = c
        .app
        .get("/costs/breakdown?months=2", &c.token)
        .await
        .expect(200);
    assert!(close(&two.body["totalCostUsd"], turn_cost + 5.0));
    let single = c
        .app
        .get(
            &format!(
                "/costs/breakdown?startDate={}&endDate={}",
                last_month,
                last_month + Duration::days(1)
            ),
            &c.token,
        )
        .await
        .expect(200);
    assert_eq!(single.body["byDay"].as_array().unwrap().len(), 2);
    assert!(close(&single.body["totalCostUsd"], 5.0));
}

#[tokio::test]
async fn costs_validate_parameters_and_stay_in_their_workspace() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    c.chat(json!({"message": "spend"})).await.expect(200);
    for q in ["months=0", "months=25", "months=x"] {
        c.app
            .get(&format!("/costs?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    let cases = [
        ("startDate=2026-13-01&endDate=2026-12-31", "startDate"),
        ("startDate=2026-01-01&endDate=26-02-01", "endDate"),
        ("startDate=2026-02-01&endDate=2026-01-31", "endDate"),
        ("startDate=2025-01-01&endDate=2026-01-02", "endDate"),
        ("startDate=2026-01-01", "endDate"),
        ("endDate=2026-01-01", "startDate"),
        ("months=2&startDate=2026-01-01&endDate=2026-01-02", "months"),
        ("months=13", "months"),
        ("months=0", "months"),
    ];
    for (q, field) in cases {
        let r = c
            .app
            .get(&format!("/costs/breakdown?{q}"), &c.token)
            .await
            .expect_error(400, "VALIDATION_ERROR");
        assert!(r.body["details"][field].is_string(), "{q}: {}", r.text);
    }
    // 366 days (a leap year) is the longest range.
    c.app
        .get(
            "/costs/breakdown?startDate=2024-01-01&endDate=2024-12-31",
            &c.token,
        )
        .await
        .expect(200);
    // Another workspace sees none of it, and strangers cannot look.
    let User {
        token: other,
        ws: other_ws,
        ..
    } = c.app.onboarded_user("costs-other@example.com").await;
    let r = c.app.get_in("/costs", &other, &other_ws).await.expect(200);
    assert_eq!(
        (
            r.body["totalCostUsd"].as_f64(),
            r.body["totalTokens"].as_i64()
        ),
        (Some(0.0), Some(0))
    );
    c.app
        .get_in("/costs", &c.token, &other_ws)
        .await
        .expect_error(403, "FORBIDDEN");
    c.app
        .get_in("/costs/breakdown", &other, &c.ws)
        .await
        .expect_error(403, "FORBIDDEN");
}

#[tokio::test]
async fn cost_reports_read_only_the_covering_index_on_sqlite() {
    let fake = FakeLlm::saying("ok").await;
    let c = chat_app(&fake).await;
    let store = c.store().await;
    if store.engine() != "sqlite" {
        return;
    }
    // The shape of the report queries: a range of one workspace, grouped by day and keys.
    let sql = "EXPLAIN QUERY PLAN SELECT substr(created_at, 1, 10), provider, model, agent_id, COUNT(*), \
               SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_usd) FROM usage_records \
               WHERE workspace_id = 'w' AND created_at >= '2026' AND created_at < '2027' GROUP BY 1, 2, 3, 4";
    let plan: Vec<String> = with_pool!(store.pool(), p => {
        sqlx::query(sql).fetch_all(p).await.unwrap().iter().map(|r| sqlx::Row::get::<String, _>(r, "detail")).collect()
    });
    assert!(
        plan.iter()
            .any(|d| d.contains("COVERING INDEX usage_records_workspace_cover")),
        "{plan:?}"
    );
}
