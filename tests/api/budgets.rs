//! The monthly token budget under concurrency (issue #12): a turn reserves its estimate
//! before it runs and settles it when recorded, so 50 turns fired at once at a nearly spent
//! budget overshoot it by at most one turn's estimate.

use std::time::Duration;

use astra::with_pool;
use chrono::Utc;
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{Answer, FakeLlm, agent, chat_app_with};

const BUDGET: u64 = 100;
const SPENT: i64 = 90;
const MAX_OUTPUT: u64 = 20;
const TURNS: usize = 50;

#[tokio::test]
async fn fifty_concurrent_turns_overshoot_a_nearly_spent_budget_by_one_estimate_at_most() {
    // Every turn bills 15 tokens (10 + 5) and takes a while, so all 50 overlap.
    let fake = FakeLlm::start(|_, _| Answer::text("ok").slow(Duration::from_millis(150))).await;
    let c = chat_app_with(&fake, |cfg| cfg.limits.user_tokens_per_month = BUDGET).await;
    c.create_agent(agent("tight", json!({"model": {"provider": "openai", "modelId": "gpt-4o-mini", "maxOutputTokens": MAX_OUTPUT}})))
        .await;
    let store = c.store().await;
    let month = Utc::now().format("%Y-%m").to_string();
    let user_id = c.user.id.clone();
    with_pool!(store.pool(), p => {
        sqlx::query("INSERT INTO user_monthly_tokens (user_id, month, tokens) VALUES ($1, $2, $3)")
            .bind(&user_id).bind(&month).bind(SPENT).execute(p).await.unwrap();
    });
    let turns = (0..TURNS).map(|_| c.chat(json!({"message": "hi", "agentId": "tight"})));
    let replies = join_all(turns).await;
    let mut served = 0;
    for r in &replies {
        match r.status {
            200 => served += 1,
            429 => assert_eq!(r.body["code"], "TOKEN_BUDGET_EXCEEDED", "{}", r.text),
            other => panic!("status {other}: {}", r.text),
        }
    }
    // One turn's estimate: its message ("hi": 5 by the gateway's estimate) plus the agent's
    // completion limit.
    let estimate = 5 + MAX_OUTPUT as i64;
    let spent = store.turns().month_tokens(&user_id, &month).await.unwrap();
    assert!(served >= 1, "a turn fits in the budget");
    assert_eq!(spent, SPENT + 15 * served as i64);
    assert!(
        spent <= BUDGET as i64 + estimate,
        "{served} turns served: {spent} tokens spent of a {BUDGET} budget"
    );
    assert_eq!(fake.hits(), served, "refused turns never reached the model");
    // Every reservation was settled by its turn's transaction.
    let committed = store
        .budgets()
        .committed(&user_id, &month, Utc::now())
        .await
        .unwrap();
    assert_eq!(committed, spent);
    // And the budget keeps refusing now that it is spent.
    c.chat(json!({"message": "hi", "agentId": "tight"}))
        .await
        .expect_error(429, "TOKEN_BUDGET_EXCEEDED");
}
