//! The scenarios of the suite. Each chat scenario sends the same upstream work three ways — to the
//! fake directly, through the bare proxy, through the gateway — at each open-loop rate and at
//! saturation, so overhead is computed per percentile from phases of the same run.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{HeaderMap, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::{
    client::{Dialect, Target},
    gateway::PASSWORD,
    hold::{self, MakeRequest},
    report::{HoldResult, Report},
    run::{Ctx, Load, Path},
};

/// A scenario of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// `POST /agent/chat`, no tools, short reply.
    Chat,
    /// `POST /agent/chat/stream`: time to first `content` and to `done`.
    Stream,
    /// `POST /agent/chat` with one tool round (two upstream calls and a `calculator` run).
    Tool,
    /// Many concurrent idle SSE streams: RSS and per-stream memory.
    Streams,
    /// Turns on a 10 000-message conversation vs on short ones (latency, CPU per turn).
    Conversation,
    /// `GET /agents` without and with `If-None-Match`.
    Agents,
    /// `POST /auth/login` (Argon2id-bound by design).
    Login,
    /// `GET /health` (a database round trip): the floor of any gateway route.
    Health,
    /// Hook: memory search over 100 000 entries (not wired until the Memory routes land).
    MemorySearch,
    /// Hook: cost breakdown over 1 000 000 usage rows (not wired until the Costs routes land).
    CostBreakdown,
}

impl Scenario {
    /// Every scenario, in report order.
    pub fn all() -> Vec<Self> {
        vec![
            Self::Health,
            Self::Chat,
            Self::Stream,
            Self::Tool,
            Self::Conversation,
            Self::Agents,
            // Before login: Argon2id buffers the allocator keeps would inflate the streams' RSS.
            Self::Streams,
            Self::Login,
            Self::MemorySearch,
            Self::CostBreakdown,
        ]
    }
}

/// Runs one scenario and adds its phases to the report.
pub async fn run(ctx: &Ctx<'_>, sc: Scenario, report: &mut Report) -> anyhow::Result<()> {
    match sc {
        Scenario::Chat => chat(ctx, report, "chat", "Hello there, bench.", false).await,
        Scenario::Stream => chat(ctx, report, "stream", "Hello there, bench.", true).await,
        Scenario::Tool => chat(ctx, report, "tool", "#tool What is 6*7?", false).await,
        Scenario::Streams => streams(ctx, report).await,
        Scenario::Conversation => crate::conversation::conversation(ctx, report).await,
        Scenario::Agents => agents(ctx, report).await,
        Scenario::Login => login(ctx, report).await,
        Scenario::Health => health(ctx, report).await,
        Scenario::MemorySearch => {
            report.skip(hooks::memory_search(ctx).await);
            Ok(())
        }
        Scenario::CostBreakdown => {
            report.skip(hooks::cost_breakdown(ctx).await);
            Ok(())
        }
    }
}

/// The tools the direct requests offer, shaped like the gateway's.
fn tool_defs() -> Value {
    json!([
        {"type": "function", "function": {"name": "calculator", "description": "Evaluate an arithmetic expression.",
         "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                        "required": ["expression"]}}},
        {"type": "function", "function": {"name": "current_time", "description": "Current date and time.",
         "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}}}}
    ])
}

/// The upstream request bodies one gateway turn costs: one, or two for a tool round.
fn upstream_bodies(message: &str, tool_round: bool) -> Vec<Bytes> {
    let system = json!({"role": "system", "content": "You are Chad, a helpful assistant. Today is a bench day."});
    let user = json!({"role": "user", "content": message});
    let body = |messages: Value| {
        Bytes::from(
            json!({"model": "bench", "messages": messages, "stream": true,
                   "stream_options": {"include_usage": true}, "tools": tool_defs()})
            .to_string(),
        )
    };
    let mut out = vec![body(json!([system, user]))];
    if tool_round {
        let call = json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_bench_1",
            "type": "function", "function": {"name": "calculator", "arguments": "{\"expression\":\"6*7\"}"}}]});
        let result = json!({"role": "tool", "tool_call_id": "call_bench_1", "content": "42"});
        out.push(body(json!([system, user, call, result])));
    }
    out
}

/// Checks that the chat route answers before loading it; `Err` names why it cannot run.
async fn probe_chat(ctx: &Ctx<'_>, path: &str) -> Result<(), String> {
    let resp = ctx
        .client
        .post(format!("{}{path}", ctx.gw))
        .headers(ctx.session.headers().map_err(|e| e.to_string())?)
        .json(&json!({"message": "probe", "surfaceId": "probe"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(())
    } else {
        let hint = if status == 404 && body.contains("No such route") {
            " (route not on this build yet)"
        } else if !ctx.session.onboarded {
            " (no /onboarding/setup on this build, so no `chad` agent)"
        } else {
            ""
        };
        Err(format!(
            "{path} answered {status}{hint}: {}",
            body.chars().take(200).collect::<String>()
        ))
    }
}

async fn chat(
    ctx: &Ctx<'_>,
    report: &mut Report,
    name: &str,
    message: &str,
    stream: bool,
) -> anyhow::Result<()> {
    let path = if stream {
        "/agent/chat/stream"
    } else {
        "/agent/chat"
    };
    let gw_ok = probe_chat(ctx, path).await;
    if let Err(why) = &gw_ok {
        report.skip(format!(
            "{name} on {}/{}: {why}; measuring the direct and bare-proxy paths only",
            ctx.db, ctx.pin
        ));
    }
    let bodies = upstream_bodies(message, name == "tool");
    let direct = Target::Completions {
        url: format!("{}/chat/completions", ctx.fake_v1),
        bodies: bodies.clone(),
    };
    let proxy = Target::Completions {
        url: format!("{}/chat/completions", ctx.proxy_v1),
        bodies,
    };
    let mut loads: Vec<Load> = ctx.opts.rates.iter().map(|&r| Load::Open(r)).collect();
    if ctx.opts.connections > 0 {
        loads.push(Load::Closed(ctx.opts.connections));
    }
    for (n, load) in loads.into_iter().enumerate() {
        let gateway = Target::Chat {
            url: format!("{}{path}", ctx.gw),
            headers: ctx.session.headers()?,
            message: message.to_owned(),
            surface_prefix: format!("{name}-{}-{}-{n}", ctx.db, ctx.pin),
            sessions: ctx.opts.sessions,
            stream,
        };
        let mut paths = vec![
            Path {
                who: "direct",
                target: direct.clone(),
                pid: None,
            },
            Path {
                who: "proxy",
                target: proxy.clone(),
                pid: Some(ctx.proxy_pid),
            },
        ];
        if gw_ok.is_ok() {
            paths.push(Path {
                who: "gateway",
                target: gateway,
                pid: Some(ctx.gw_pid),
            });
        }
        for phase in ctx.compare(name, paths, load).await? {
            report.push(phase);
        }
    }
    Ok(())
}

async fn health(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let target = Target::Get {
        url: format!("{}/health", ctx.gw),
        headers: HeaderMap::new(),
    };
    let load = Load::Closed(ctx.opts.connections.max(1));
    report.push(
        ctx.phase("health", "gateway", target, load, Some(ctx.gw_pid))
            .await?,
    );
    Ok(())
}

async fn agents(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let url = format!("{}/agents", ctx.gw);
    let headers = ctx.session.headers()?;
    let resp = ctx.client.get(&url).headers(headers.clone()).send().await?;
    if !resp.status().is_success() {
        report.skip(format!(
            "agents on {}/{}: GET /agents answered {} (route not on this build yet?)",
            ctx.db,
            ctx.pin,
            resp.status()
        ));
        return Ok(());
    }
    let etag = resp.headers().get(reqwest::header::ETAG).cloned();
    let load = Load::Closed(ctx.opts.connections.max(1));
    let plain = Target::Get {
        url: url.clone(),
        headers: headers.clone(),
    };
    report.push(
        ctx.phase("agents", "gateway", plain, load, Some(ctx.gw_pid))
            .await?,
    );
    match etag {
        Some(tag) => {
            let mut h = headers;
            h.insert(IF_NONE_MATCH, tag);
            let cached = Target::Get { url, headers: h };
            report.push(
                ctx.phase("agents-304", "gateway", cached, load, Some(ctx.gw_pid))
                    .await?,
            );
        }
        None => report.skip(format!(
            "agents-304 on {}/{}: GET /agents sent no ETag",
            ctx.db, ctx.pin
        )),
    }
    Ok(())
}

async fn login(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let target = Target::PostJson {
        url: format!("{}/auth/login", ctx.gw),
        body: Bytes::from(json!({"email": ctx.session.email, "password": PASSWORD}).to_string()),
    };
    // Each login holds an Argon2id buffer (19 MiB by default); a few connections saturate a core.
    let load = Load::Closed(4);
    report.push(
        ctx.phase("login", "gateway", target, load, Some(ctx.gw_pid))
            .await?,
    );
    Ok(())
}

async fn streams(ctx: &Ctx<'_>, report: &mut Report) -> anyhow::Result<()> {
    let path = "/agent/chat/stream";
    // One word a second for ten minutes: each stream stays open, mostly idle, until released.
    let message = "Keep talking slowly. #chunk=1000 #tokens=600";
    let proxy_body = upstream_bodies(message, false).remove(0);
    let gw_ok = probe_chat(ctx, path).await;
    if let Err(why) = &gw_ok {
        report.skip(format!("streams on {}/{}: {why}", ctx.db, ctx.pin));
    }
    for &n in &ctx.opts.streams {
        let client = crate::client::client(std::time::Duration::from_secs(900))?;
        let url = format!("{}/chat/completions", ctx.proxy_v1);
        let body = proxy_body.clone();
        let make: MakeRequest = Arc::new(move |c: &reqwest::Client, _| {
            c.post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
        });
        let stats = hold::hold(&client, &make, Dialect::OpenAi, n, ctx.proxy_pid).await;
        eprintln!(
            "  streams {n:>6} proxy   established {} per-stream {:.1} KiB",
            stats.established, stats.per_stream_kib
        );
        report.hold(HoldResult {
            db: ctx.db,
            pin: ctx.pin,
            target: "proxy",
            stats,
        });
        if gw_ok.is_err() {
            continue;
        }
        let url = format!("{}{path}", ctx.gw);
        let headers = ctx.session.headers()?;
        let prefix = format!("hold-{}-{}-{n}", ctx.db, ctx.pin);
        let make: MakeRequest = Arc::new(move |c: &reqwest::Client, i| {
            c.post(&url).headers(headers.clone()).json(&json!({
                "message": message, "surfaceId": format!("{prefix}-{i}")}))
        });
        let stats = hold::hold(&client, &make, Dialect::Gateway, n, ctx.gw_pid).await;
        eprintln!(
            "  streams {n:>6} gateway established {} per-stream {:.1} KiB peak {} MiB",
            stats.established,
            stats.per_stream_kib,
            stats.rss_peak_kib / 1024
        );
        report.hold(HoldResult {
            db: ctx.db,
            pin: ctx.pin,
            target: "gateway",
            stats,
        });
    }
    Ok(())
}

/// Hooks for scenarios whose routes have not landed yet. Each returns why it was skipped; when
/// the route exists, seed the data here (through the API or a direct bulk insert into the
/// gateway's database) and run `ctx.phase` like the other scenarios.
mod hooks {
    use super::Ctx;

    /// Memory search over 100 000 entries: seed with `POST /agent/memory/notes` (or bulk SQL),
    /// then load `GET /agent/memory/search?q=…&topK=10` at the suite's rates.
    pub async fn memory_search(ctx: &Ctx<'_>) -> String {
        let status = route_status(ctx, "/agent/memory/search?q=bench&topK=10").await;
        format!(
            "memory-search on {}/{}: not wired yet (GET /agent/memory/search → {status}); \
                 needs seeding of 100 000 entries",
            ctx.db, ctx.pin
        )
    }

    /// Cost breakdown over 1 000 000 usage rows: bulk-insert usage rows for the workspace, then
    /// load `GET /costs/breakdown?months=3`.
    pub async fn cost_breakdown(ctx: &Ctx<'_>) -> String {
        let status = route_status(ctx, "/costs/breakdown?months=3").await;
        format!(
            "cost-breakdown on {}/{}: not wired yet (GET /costs/breakdown → {status}); \
                 needs seeding of 1 000 000 usage rows",
            ctx.db, ctx.pin
        )
    }

    async fn route_status(ctx: &Ctx<'_>, path: &str) -> String {
        let Ok(headers) = ctx.session.headers() else {
            return "no headers".into();
        };
        match ctx
            .client
            .get(format!("{}{path}", ctx.gw))
            .headers(headers)
            .send()
            .await
        {
            Ok(r) => r.status().to_string(),
            Err(e) => e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_round_costs_two_upstream_calls() {
        assert_eq!(upstream_bodies("#tool x", true).len(), 2);
        let first: Value = serde_json::from_slice(&upstream_bodies("hi", false)[0]).unwrap();
        assert_eq!(first["stream_options"]["include_usage"], true);
    }
}
