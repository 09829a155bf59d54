//! The isolation matrix: for every resource type, outsider B (with his own workspace), B
//! spoofing A's workspace id in `X-Workspace-Id`, and a viewer of A's workspace call every
//! route on A's object. Expected: 403/404 (or, on routes scoped to the caller, an answer about
//! the caller's own data), never A's data in the body, and A's object unchanged afterwards
//! (re-read as A and compared). Viewers may read what the README lets them read: the
//! workspace, its agents and versions, memory profiles, grants, jobs (headers masked), monitors
//! and runs, traces, costs and stats — never another user's sessions, memory or webhooks.

use reqwest::Method;
use serde_json::Value;

use super::{
    setup::{Caller, MARKER, SECRET_HEADER, World, world},
    table::{Deny, Exp, Own, Read, Resource, table},
};

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
