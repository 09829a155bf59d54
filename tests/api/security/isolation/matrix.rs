//! The isolation matrix: for every resource type, outsider B (with his own workspace), B
//! spoofing A's workspace id in `X-Workspace-Id`, and a viewer of A's workspace call every
//! route on A's object. Expected: 403/404 (or, on routes scoped to the caller, an answer about
//! the caller's own data), never A's data in the body, and A's object unchanged afterwards
//! (re-read as A and compared). Viewers may read what the README lets them read: the
//! workspace, its agents and versions, memory profiles, grants, jobs (headers masked), monitors
//! and runs, traces, costs and stats — never another user's sessions, memory or webhooks.

use reqwest::Method;
use serde_json::{Value, json};

use super::setup::{Caller, MARKER, SECRET_HEADER, World, world};

/// What a caller must get from a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Exp {
    /// 403 or 404.
    Deny,
    /// The route answers about the caller's own data (lists, memory, search): any non-5xx
    /// status, none of A's data.
    Own,
    /// The caller may read A's object (viewers, by the README's role rules): 200.
    Read,
}
use Exp::{Deny, Own, Read};

/// One route tried against A's object.
struct Route {
    method: Method,
    /// `{name}` is filled from the world; `{me}`/`{myws}` are the caller's id and workspace.
    path: &'static str,
    body: Option<Value>,
    /// For outsider B with his own workspace in `X-Workspace-Id`.
    b: Exp,
    /// For B sending A's workspace id: denied, except on routes that ignore the header.
    spoof: Exp,
    viewer: Exp,
}

fn route(method: Method, path: &'static str, body: Option<Value>, b: Exp, viewer: Exp) -> Route {
    Route {
        method,
        path,
        body,
        b,
        spoof: b,
        viewer,
    }
}
/// Creating in "the current workspace": fine in B's own, denied with A's id spoofed.
fn create(path: &'static str, body: Value, viewer: Exp) -> Route {
    Route {
        spoof: Deny,
        ..route(Method::POST, path, Some(body), Own, viewer)
    }
}
/// Read by viewers, denied to outsiders.
fn read(path: &'static str) -> Route {
    route(Method::GET, path, None, Deny, Read)
}
/// A workspace-scoped list: outsiders see their own, viewers A's.
fn list(path: &'static str) -> Route {
    route(Method::GET, path, None, Own, Read)
}
/// Scoped to the caller (their own sessions, memory, webhooks): nobody sees A's.
fn own(method: Method, path: &'static str, body: Option<Value>) -> Route {
    route(method, path, body, Own, Own)
}
/// Denied to everybody but A's managers.
fn deny(method: Method, path: &'static str, body: Option<Value>) -> Route {
    route(method, path, body, Deny, Deny)
}

/// A resource type: what A re-reads to see it unchanged, and the routes tried on it.
struct Resource {
    name: &'static str,
    /// (as member M instead of A?, path) read before and after.
    snapshot: Vec<(bool, &'static str)>,
    routes: Vec<Route>,
}

fn res(name: &'static str, snapshot: &[&'static str], routes: Vec<Route>) -> Resource {
    Resource {
        name,
        snapshot: snapshot.iter().map(|p| (false, *p)).collect(),
        routes,
    }
}

fn table() -> Vec<Resource> {
    use Method as M;
    let agent_body = json!({"id": "{agent}", "displayName": "pwned",
        "model": {"provider": "openai", "modelId": "gpt-4o-mini"}, "systemPromptTemplate": "pwned"});
    let mut member = res(
        "member",
        &["/workspaces/{ws}/stats"],
        vec![
            deny(
                M::POST,
                "/workspaces/{ws}/members",
                Some(json!({"uid": "{m_uid}", "role": "viewer"})),
            ),
            deny(M::DELETE, "/workspaces/{ws}/members/{m_uid}", None),
            deny(M::DELETE, "/workspaces/{ws}/members/{a_uid}", None),
            deny(
                M::POST,
                "/workspaces/{ws}/members",
                Some(json!({"uid": "{me}", "role": "owner"})),
            ),
        ],
    );
    member.snapshot.push((true, "/workspaces/{ws}"));
    vec![
        res(
            "workspace",
            &["/workspaces/{ws}"],
            vec![
                read("/workspaces/{ws}"),
                deny(
                    M::PUT,
                    "/workspaces/{ws}/settings",
                    Some(json!({"name": "pwned", "settings": {"x": 1}})),
                ),
                deny(
                    M::PUT,
                    "/workspaces/{ws}/restrictions",
                    Some(json!({"allowedProviders": ["ollama"]})),
                ),
                own(M::GET, "/workspaces", None),
            ],
        ),
        member,
        res(
            "grant",
            &["/workspaces/{ws}/grants"],
            vec![
                read("/workspaces/{ws}/grants"),
                deny(
                    M::POST,
                    "/workspaces/{ws}/grants",
                    Some(json!({"receivingWorkspaceId": "{myws}", "agentId": "{agent}"})),
                ),
                deny(
                    M::DELETE,
                    "/workspaces/{ws}/grants?receivingWorkspaceId={wsc}&agentId={agent}",
                    None,
                ),
            ],
        ),
        res(
            "agent",
            &["/agents/{agent}"],
            vec![
                read("/agents/{agent}"),
                read("/agents/{agent}/capabilities"),
                list("/agents"),
                deny(M::PUT, "/agents/{agent}", Some(agent_body)),
                deny(M::DELETE, "/agents/{agent}", None),
                deny(
                    M::POST,
                    "/agent/chat",
                    Some(json!({"message": "hi", "agentId": "{agent}"})),
                ),
            ],
        ),
        res(
            "agent version",
            &["/agents/{agent}/versions", "/agents/{agent}/versions/1"],
            vec![
                read("/agents/{agent}/versions"),
                read("/agents/{agent}/versions/1"),
                deny(
                    M::PATCH,
                    "/agents/{agent}/versions/1",
                    Some(json!({"label": "pwned"})),
                ),
                deny(
                    M::POST,
                    "/agents/{agent}/versions/1/rollback",
                    Some(json!({})),
                ),
            ],
        ),
        res(
            "memory profile",
            &[
                "/memory-profiles/{profile}",
                "/memory-profiles/agents/{agent}/memory-profile",
            ],
            vec![
                read("/memory-profiles/{profile}"),
                list("/memory-profiles"),
                read("/memory-profiles/agents/{agent}/memory-profile"),
                deny(
                    M::PUT,
                    "/memory-profiles/{profile}",
                    Some(json!({"name": "pwned"})),
                ),
                deny(M::DELETE, "/memory-profiles/{profile}?force=true", None),
                deny(
                    M::PUT,
                    "/memory-profiles/agents/{agent}/memory-profile",
                    Some(json!({"profileId": "{profile}"})),
                ),
            ],
        ),
        res(
            "session",
            &["/sessions/{session}", "/sessions"],
            vec![
                deny(M::GET, "/sessions/{session}", None),
                own(M::GET, "/sessions", None),
                deny(
                    M::POST,
                    "/sessions/{session}/handoff",
                    Some(json!({"agentId": "researcher"})),
                ),
                own(
                    M::POST,
                    "/agent/reset",
                    Some(json!({"agentId": "chad", "surface": "chat", "surfaceId": "main"})),
                ),
                own(M::GET, "/agent/presence", None),
            ],
        ),
        res(
            "message search",
            &["/sessions/search/messages?q=asecretz"],
            vec![
                own(M::GET, "/sessions/search/messages?q=asecretz", None),
                own(M::GET, "/sessions/search/messages?q=budget", None),
            ],
        ),
        res(
            "memory entries",
            &[
                "/agent/memory/profile",
                "/agent/memory/daily/{date}",
                "/agent/memory/notes",
                "/agent/memory/search?q=asecretz",
            ],
            vec![
                own(M::GET, "/agent/memory/profile", None),
                own(
                    M::PUT,
                    "/agent/memory/profile",
                    Some(json!({"profile": {"codename": "pwned"}})),
                ),
                own(M::GET, "/agent/memory/daily?days=7", None),
                own(M::GET, "/agent/memory/daily/{date}", None),
                own(M::DELETE, "/agent/memory/daily/{date}/0", None),
                own(M::GET, "/agent/memory/notes", None),
                own(M::DELETE, "/agent/memory/notes/0", None),
                own(M::GET, "/agent/memory/search?q=asecretz", None),
            ],
        ),
        res(
            "webhook",
            &["/webhooks/{webhook}"],
            vec![
                deny(M::GET, "/webhooks/{webhook}", None),
                own(M::GET, "/webhooks", None),
                deny(
                    M::PUT,
                    "/webhooks/{webhook}",
                    Some(json!({"active": false, "url": "http://127.0.0.1:9/pwned"})),
                ),
                deny(M::DELETE, "/webhooks/{webhook}", None),
            ],
        ),
        res(
            "webhook delivery",
            &["/webhooks/{webhook}/deliveries"],
            vec![
                deny(M::GET, "/webhooks/{webhook}/deliveries", None),
                deny(M::POST, "/webhooks/{webhook}/test", Some(json!({}))),
            ],
        ),
        res(
            "job",
            &["/jobs/{job}"],
            vec![
                read("/jobs/{job}"),
                list("/jobs"),
                deny(M::DELETE, "/jobs/{job}", None),
            ],
        ),
        res(
            "monitor",
            &["/heartbeat"],
            vec![
                list("/heartbeat"),
                deny(
                    M::PATCH,
                    "/heartbeat/{monitor}",
                    Some(json!({"enabled": false})),
                ),
                deny(M::DELETE, "/heartbeat/{monitor}", None),
            ],
        ),
        res(
            "monitor run",
            &["/heartbeat/{monitor}/runs"],
            vec![read("/heartbeat/{monitor}/runs")],
        ),
        res(
            "trace",
            &["/traces/{trace}"],
            vec![read("/traces/{trace}"), list("/traces")],
        ),
        res(
            "costs",
            &["/costs", "/costs/breakdown"],
            vec![list("/costs"), list("/costs/breakdown")],
        ),
        res(
            "spoofed creation",
            &[
                "/agents",
                "/jobs",
                "/heartbeat",
                "/memory-profiles",
                "/webhooks",
            ],
            vec![
                create(
                    "/agents",
                    json!({"id": "intruder", "displayName": "pwned",
                "model": {"provider": "openai", "modelId": "gpt-4o-mini"}, "systemPromptTemplate": "pwned"}),
                    Deny,
                ),
                create(
                    "/jobs",
                    json!({"type": "noop", "runAt": "2999-01-01T00:00:00Z"}),
                    Deny,
                ),
                create(
                    "/heartbeat",
                    json!({"name": "pwned", "type": "http", "url": "http://127.0.0.1:9/x",
                "intervalMinutes": 600, "enabled": false}),
                    Deny,
                ),
                create("/memory-profiles", json!({"name": "pwned"}), Deny),
                // A webhook of the caller's own, which only ever receives the caller's events.
                create(
                    "/webhooks",
                    json!({"url": "http://127.0.0.1:9/pwned", "events": ["*"]}),
                    Own,
                ),
            ],
        ),
        res(
            "workspace stats",
            &["/workspaces/{ws}/stats"],
            vec![read("/workspaces/{ws}/stats")],
        ),
    ]
}

fn fill(template: &str, w: &World, who: &Caller) -> String {
    let mut out = template
        .replace("{me}", &who.uid)
        .replace("{myws}", &who.ws);
    for (k, v) in &w.vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn fill_body(body: &Value, w: &World, who: &Caller) -> Value {
    serde_json::from_str(&fill(&body.to_string(), w, who)).unwrap()
}

/// Drops what moves without anyone touching A's object: windows relative to now (`since`) and
/// relevance scores (they depend on every user's rows in the index).
fn settle(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("since");
            map.remove("score");
            map.values_mut().for_each(settle);
        }
        Value::Array(items) => items.iter_mut().for_each(settle),
        _ => {}
    }
}

/// A's view of the resource (as member M where the snapshot says so).
async fn snapshot(w: &World, r: &Resource) -> Vec<(String, u16, Value)> {
    let mut out = Vec::new();
    for (as_m, path) in &r.snapshot {
        let who = if *as_m { &w.m } else { &w.a };
        let path = fill(path, w, who);
        let mut resp = w.call(who, Method::GET, &path, None).await;
        settle(&mut resp.body);
        out.push((path, resp.status, resp.body));
    }
    out
}

/// The reads whose answer changed, each shown briefly.
fn changes(before: &[(String, u16, Value)], after: &[(String, u16, Value)]) -> String {
    let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
    before
        .iter()
        .zip(after)
        .filter(|(b, a)| b != a)
        .map(|(b, a)| {
            format!(
                "GET {} {} {} -> {} {}",
                b.0,
                b.1,
                short(&b.2),
                a.1,
                short(&a.2)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The caller's own input (path segments, body strings): an error message may echo it, which
/// reveals nothing of A's.
fn echoes(path: &str, body: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = path
        .split(['/', '?', '&', '='])
        .filter(|p| p.len() > 3)
        .map(str::to_string)
        .collect();
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    if let Some(body) = body {
        strings(body, &mut out);
    }
    // Longest first, so a value is removed before a part of it.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Checks one answer (with the caller's echoed input removed); returns the problem, if any.
fn judge(exp: Exp, status: u16, text: &str, leaks: &[&str], echoed: &[String]) -> Option<String> {
    let mut text = text.to_string();
    for e in echoed {
        text = text.replace(e.as_str(), "");
    }
    let text = text.as_str();
    if text.contains(SECRET_HEADER) || text.contains("hdr-asecretz") {
        return Some(format!("{status} shows the job's secret header: {text}"));
    }
    let status_ok = match exp {
        Deny => status == 403 || status == 404,
        Own => status < 500 && status != 401,
        Read => status == 200,
    };
    if !status_ok {
        return Some(format!("expected {exp:?}, got {status}: {text}"));
    }
    if exp != Read
        && let Some(leak) = leaks.iter().find(|l| text.contains(**l))
    {
        return Some(format!("{status} body holds A's data ({leak}): {text}"));
    }
    None
}

#[tokio::test]
async fn outsiders_and_viewers_cannot_read_change_or_delete_a_objects() {
    let w = world().await;
    // B's answers never name A's workspace or objects; a viewer's caller-scoped answers never
    // show A's per-user objects (sessions, webhooks) or anything marked.
    let ids = |keys: &[&str]| -> Vec<String> { keys.iter().map(|k| w.vars[k].clone()).collect() };
    let b_leaks = ids(&[
        "ws", "profile", "session", "trace", "webhook", "job", "monitor",
    ]);
    let v_leaks = ids(&["session", "webhook"]);
    let spoofer = Caller {
        label: "B spoofing X-Workspace-Id",
        token: w.b.token.clone(),
        uid: w.b.uid.clone(),
        ws: w.vars["ws"].clone(),
    };
    let mut failures = Vec::new();
    let mut tried = 0;
    for r in table() {
        let before = snapshot(&w, &r).await;
        assert!(
            before.iter().all(|(_, s, _)| *s == 200),
            "{}: A cannot read the snapshot: {before:?}",
            r.name
        );
        for route in &r.routes {
            for (who, exp, extra) in [
                (&w.b, route.b, &b_leaks),
                // Routes that ignore the header answer about B's own data; all others deny.
                (&spoofer, route.spoof, &b_leaks),
                (&w.viewer, route.viewer, &v_leaks),
            ] {
                let path = fill(route.path, &w, who);
                let body = route.body.as_ref().map(|b| fill_body(b, &w, who));
                let echoed = echoes(&path, body.as_ref());
                let resp = w.call(who, route.method.clone(), &path, body).await;
                tried += 1;
                let mut leaks: Vec<&str> = vec![MARKER];
                leaks.extend(extra.iter().map(String::as_str));
                let at = format!("[{}] {} {} {path}", r.name, who.label, route.method);
                if let Some(problem) = judge(exp, resp.status, &resp.text, &leaks, &echoed) {
                    failures.push(format!(
                        "{at}: {}",
                        problem.chars().take(600).collect::<String>()
                    ));
                }
                if route.method != Method::GET {
                    let after = snapshot(&w, &r).await;
                    if after != before {
                        failures.push(format!(
                            "{at}: changed A's object: {}",
                            changes(&before, &after)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {tried} attempts broke isolation:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
