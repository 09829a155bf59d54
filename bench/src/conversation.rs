//! The `conversation` scenario: does a long conversation cost more per turn than a fresh one?
//!
//! One session is seeded with [`LONG_MESSAGES`] messages through the API — 5 000 ordinary turns
//! sent one after another on the same `surfaceId` (each stores the user message and the reply,
//! so the rows, counters, full-text index and traces are exactly what real turns leave). Then
//! turns on that session and turns on short sessions are measured in the same rounds, at the
//! same loads: one connection (sequential turns, the natural pace of one conversation) and an
//! open-loop rate. The target: the 10 000-message conversation within ±10 % of the short ones
//! in latency and CPU per turn.

use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};

use crate::{
    client::Target,
    report::Report,
    run::{Ctx, Load, Path},
};

/// Messages the long conversation holds before it is measured.
pub const LONG_MESSAGES: i64 = 10_000;
/// Short conversations the "fresh" turns rotate over.
const SHORT_SESSIONS: u64 = 64;
/// The user message of every turn (16-token reply from the fake).
const MESSAGE: &str = "Hello there, bench.";

/// Seeds the long conversation, then measures it against short ones.
pub async fn conversation(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let path = "/agent/chat";
    let url = format!("{}{path}", ctx.gw);
    let headers = ctx.session.headers()?;
    let long_prefix = format!("conv-long-{}-{}", ctx.db, ctx.pin);
    // `Target::Chat` sends `surfaceId` `{prefix}-{i % sessions}`: with one session, `-0`.
    let (session_id, seeded, took) = seed(ctx, &url, &format!("{long_prefix}-0")).await?;
    eprintln!(
        "  conversation seeded {seeded} messages in {took:.1} s ({:.0} turns/s, one at a time)",
        seeded as f64 / 2.0 / took.max(1e-9)
    );
    if seeded < LONG_MESSAGES {
        report.skip(format!(
            "conversation on {}/{}: the long session holds {seeded} messages, not {LONG_MESSAGES}",
            ctx.db, ctx.pin
        ));
        return Ok(());
    }
    let chat = |prefix: String, sessions: u64| -> anyhow::Result<Target> {
        Ok(Target::Chat {
            url: url.clone(),
            headers: headers.clone(),
            message: MESSAGE.to_owned(),
            surface_prefix: prefix,
            sessions,
            stream: false,
        })
    };
    let long = chat(long_prefix, 1)?;
    let short_prefix = format!("conv-short-{}-{}", ctx.db, ctx.pin);
    let short = chat(short_prefix, SHORT_SESSIONS)?;
    let loads = [Load::Closed(1), Load::Open(100.0)];
    for load in loads {
        let paths = vec![
            Path {
                who: "fresh",
                target: short.clone(),
                pid: Some(ctx.gw_pid),
            },
            Path {
                who: "10k",
                target: long.clone(),
                pid: Some(ctx.gw_pid),
            },
        ];
        let phases = ctx.compare("conversation", paths, load).await?;
        if let [fresh, long] = phases.as_slice() {
            let per_turn = |p: &crate::run::Phase| {
                p.usage
                    .map(|u| u.cpu_s / p.stats.ok.max(1) as f64 * 1000.0)
                    .unwrap_or(0.0)
            };
            let p50 = |p: &crate::run::Phase| p.stats.latency.map_or(0, |l| l.p50_us) as f64;
            eprintln!(
                "  conversation 10k / fresh: p50 {:.2}×, CPU per turn {:.2}× ({:.3} vs {:.3} ms)",
                p50(long) / p50(fresh).max(1.0),
                per_turn(long) / per_turn(fresh).max(1e-9),
                per_turn(long),
                per_turn(fresh),
            );
        }
        for p in phases {
            report.push(p);
        }
    }
    let after = message_count(ctx, &session_id).await?;
    eprintln!("  conversation long session now holds {after} messages");
    Ok(())
}

/// Sends turns to `surface` one at a time until its session holds [`LONG_MESSAGES`]
/// messages; returns the session id, its message count and the seconds it took.
async fn seed(ctx: &Ctx<'_>, url: &str, surface: &str) -> anyhow::Result<(String, i64, f64)> {
    let start = Instant::now();
    let body = json!({"message": MESSAGE, "surfaceId": surface});
    let headers = ctx.session.headers()?;
    let mut session_id = String::new();
    let mut count = 0;
    // Each turn adds two messages (user, reply); the count is read back at the end.
    for _ in 0..LONG_MESSAGES / 2 {
        let resp = ctx
            .client
            .post(url)
            .headers(headers.clone())
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let reply: Value = resp.json().await.context("seeding turn: reply")?;
        anyhow::ensure!(
            status.is_success(),
            "seeding turn answered {status}: {reply}"
        );
        let id = reply["sessionId"].as_str().unwrap_or_default();
        if session_id.is_empty() {
            session_id = id.to_owned();
        }
        anyhow::ensure!(
            id == session_id,
            "seeding turns landed in two sessions ({session_id}, {id}): the agent's session reset \
             policy ended the conversation"
        );
        count += 2;
    }
    if !session_id.is_empty() {
        count = message_count(ctx, &session_id).await?;
    }
    Ok((session_id, count, start.elapsed().as_secs_f64()))
}

/// `messageCount` of a session (`GET /sessions/{id}`).
async fn message_count(ctx: &Ctx<'_>, id: &str) -> anyhow::Result<i64> {
    let v: Value = ctx
        .client
        .get(format!("{}/sessions/{id}?limit=1", ctx.gw))
        .headers(ctx.session.headers()?)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    v["messageCount"]
        .as_i64()
        .context("GET /sessions/{id}: no messageCount")
}
