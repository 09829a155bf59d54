//! The matrix's table: every resource type of A, what A re-reads to see it unchanged, and the
//! routes tried on it, with what each caller (outsider B, B spoofing A's workspace id, a viewer
//! of A) must get. Viewers may read what the README lets them read.

use reqwest::Method;
use serde_json::{Value, json};

/// What a caller must get from a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exp {
    /// 403 or 404.
    Deny,
    /// The route answers about the caller's own data (lists, memory, search): any non-5xx
    /// status, none of A's data.
    Own,
    /// The caller may read A's object (viewers, by the README's role rules): 200.
    Read,
}
pub use Exp::{Deny, Own, Read};

/// One route tried against A's object.
pub struct Route {
    pub method: Method,
    /// `{name}` is filled from the world; `{me}`/`{myws}` are the caller's id and workspace.
    pub path: &'static str,
    pub body: Option<Value>,
    /// For outsider B with his own workspace in `X-Workspace-Id`.
    pub b: Exp,
    /// For B sending A's workspace id: denied, except on routes that ignore the header.
    pub spoof: Exp,
    pub viewer: Exp,
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
pub struct Resource {
    pub name: &'static str,
    /// (as member M instead of A?, path) read before and after.
    pub snapshot: Vec<(bool, &'static str)>,
    pub routes: Vec<Route>,
}

fn res(name: &'static str, snapshot: &[&'static str], routes: Vec<Route>) -> Resource {
    Resource {
        name,
        snapshot: snapshot.iter().map(|p| (false, *p)).collect(),
        routes,
    }
}

pub fn table() -> Vec<Resource> {
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
