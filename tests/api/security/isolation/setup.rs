//! The isolation matrix's world: user A with one object of every resource type in workspace
//! `ws` (each carrying [`MARKER`]), an outsider B with a workspace of his own, a viewer V and a
//! member M of A's workspace, and C's workspace that receives A's grant.

use crate::helpers::{ChatApp, FakeLlm, User, chat_app};
use std::collections::HashMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    agents::agent,
    helpers::{Resp, TestApp},
    webhooks::receiver::{Receiver, eventually},
};

/// In every object of A: never in a body B or V may not read.
pub const MARKER: &str = "asecretz";
/// A secret header value of A's job: never in any body, whoever reads.
pub const SECRET_HEADER: &str = "Bearer hdr-asecretz-credential";

/// A caller of the matrix.
pub struct Caller {
    pub label: &'static str,
    pub token: String,
    pub uid: String,
    /// What it sends as `X-Workspace-Id`.
    pub ws: String,
}

/// Everything the matrix needs, kept alive for the test.
pub struct World {
    pub c: ChatApp,
    pub _fake: FakeLlm,
    pub _rx: Receiver,
    /// A's token (also `c.token`), A's workspace `c.ws`.
    pub a: Caller,
    /// Member M of A's workspace (its membership is the "member" object).
    pub m: Caller,
    pub b: Caller,
    pub viewer: Caller,
    /// `{name}` → value, for path and body templates.
    pub vars: HashMap<&'static str, String>,
}

impl World {
    pub fn app(&self) -> &TestApp {
        &self.c.app
    }

    /// `method path` as `who`, with `who.ws` as `X-Workspace-Id`.
    pub async fn call(
        &self,
        who: &Caller,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        self.app()
            .send_ws(method, path, &who.token, &who.ws, body)
            .await
    }

    async fn as_a(&self, method: Method, path: &str, body: Value) -> Resp {
        let body = (method != Method::GET && method != Method::DELETE).then_some(body);
        self.call(&self.a, method, path, body).await
    }
}

async fn id_of(r: Resp, status: u16) -> String {
    r.expect(status).body["id"].as_str().unwrap().to_string()
}

/// Builds the world: every object of A exists and is settled (deliveries delivered, the
/// monitor run once, the chat's daily memory written) before the matrix starts.
pub async fn world() -> World {
    let fake = FakeLlm::saying("noted").await;
    let rx = Receiver::start().await;
    let c = chat_app(&fake).await;
    let ws = c.ws.clone();
    let a_uid = c
        .app
        .get(&format!("/workspaces/{ws}"), &c.token)
        .await
        .expect(200)
        .body["ownerId"]
        .as_str()
        .unwrap()
        .to_string();
    let a = Caller {
        label: "A",
        token: c.token.clone(),
        uid: a_uid,
        ws: ws.clone(),
    };
    let User {
        token: b_token,
        id: b_uid,
        ws: b_ws,
        ..
    } = c.app.onboarded_user("iso-b@example.com").await;
    let b = Caller {
        label: "outsider B",
        token: b_token,
        uid: b_uid,
        ws: b_ws,
    };
    let join = |email: &'static str, role: &'static str| {
        let (app, a) = (&c.app, &a);
        async move {
            let (token, uid, _) = app.register(email).await;
            app.post(
                &format!("/workspaces/{}/members", a.ws),
                &a.token,
                json!({"uid": uid, "role": role}),
            )
            .await
            .expect(201);
            (token, uid)
        }
    };
    let (v_token, v_uid) = join("iso-viewer@example.com", "viewer").await;
    let (m_token, m_uid) = join("iso-member@example.com", "member").await;
    let viewer = Caller {
        label: "viewer of A",
        token: v_token,
        uid: v_uid,
        ws: ws.clone(),
    };
    let m = Caller {
        label: "member M",
        token: m_token,
        uid: m_uid,
        ws: ws.clone(),
    };
    let User { ws: c_ws, .. } = c.app.onboarded_user("iso-c@example.com").await;

    let mut world = World {
        c,
        _fake: fake,
        _rx: rx,
        a,
        m,
        b,
        viewer,
        vars: HashMap::new(),
    };
    let w = &world;
    let agent_id = format!("{MARKER}-agent");
    let mut config = agent(&agent_id);
    config["systemPromptTemplate"] = json!(format!("{MARKER} prompt of A"));
    w.as_a(Method::POST, "/agents", config.clone())
        .await
        .expect(201);
    config["displayName"] = json!(format!("{MARKER} v2"));
    w.as_a(Method::PUT, &format!("/agents/{agent_id}"), config)
        .await
        .expect(200);
    w.as_a(
        Method::POST,
        &format!("/workspaces/{ws}/grants"),
        json!({"receivingWorkspaceId": c_ws, "agentId": agent_id}),
    )
    .await
    .expect(201);
    let profile = id_of(
        w.as_a(
            Method::POST,
            "/memory-profiles",
            json!({"name": format!("{MARKER} profile")}),
        )
        .await,
        201,
    )
    .await;

    let chat = w
        .as_a(
            Method::POST,
            "/agent/chat",
            json!({"message": format!("remember {MARKER} budget")}),
        )
        .await
        .expect(200);
    let session = chat.body["sessionId"].as_str().unwrap().to_string();
    w.as_a(
        Method::PUT,
        "/agent/memory/profile",
        json!({"profile": {"codename": MARKER}}),
    )
    .await
    .expect(200);
    w.as_a(
        Method::POST,
        "/agent/memory/notes",
        json!({"content": format!("{MARKER} note")}),
    )
    .await
    .expect(201);
    let date = chrono::Utc::now().date_naive().to_string();
    eventually(|| async {
        let r = w
            .as_a(
                Method::GET,
                &format!("/agent/memory/daily/{date}"),
                Value::Null,
            )
            .await;
        r.text.contains(MARKER).then_some(())
    })
    .await;
    let trace = eventually(|| async {
        let r = w.as_a(Method::GET, "/traces", Value::Null).await;
        r.body["items"][0]["id"].as_str().map(str::to_string)
    })
    .await;

    let webhook = id_of(
        w.as_a(
            Method::POST,
            "/webhooks",
            json!({"url": w._rx.url(&format!("/{MARKER}-hook")), "events": ["webhook.test"],
                   "description": format!("{MARKER} hook")}),
        )
        .await,
        201,
    )
    .await;
    w.as_a(
        Method::POST,
        &format!("/webhooks/{webhook}/test"),
        json!({}),
    )
    .await
    .expect(202);
    eventually(|| async {
        let r = w
            .as_a(
                Method::GET,
                &format!("/webhooks/{webhook}/deliveries"),
                Value::Null,
            )
            .await;
        (r.body["items"][0]["status"] == "delivered").then_some(())
    })
    .await;

    let job = id_of(
        w.as_a(
            Method::POST,
            "/jobs",
            json!({"type": "http_request", "runAt": "2999-01-01T00:00:00Z", "payload": {
                "method": "GET", "url": w._rx.url(&format!("/{MARKER}-job")),
                "headers": {"Authorization": SECRET_HEADER}}}),
        )
        .await,
        201,
    )
    .await;
    let monitor = id_of(
        w.as_a(
            Method::POST,
            "/heartbeat",
            json!({"name": format!("{MARKER} monitor"), "type": "http",
                   "url": w._rx.url(&format!("/{MARKER}-mon")), "intervalMinutes": 600}),
        )
        .await,
        201,
    )
    .await;
    eventually(|| async {
        let r = w
            .as_a(
                Method::GET,
                &format!("/heartbeat/{monitor}/runs"),
                Value::Null,
            )
            .await;
        r.body["items"][0]["id"].is_string().then_some(())
    })
    .await;

    world.vars = HashMap::from([
        ("ws", ws),
        ("wsc", c_ws),
        ("agent", agent_id),
        ("profile", profile),
        ("session", session),
        ("date", date),
        ("trace", trace),
        ("webhook", webhook),
        ("job", job),
        ("monitor", monitor),
        ("a_uid", world.a.uid.clone()),
        ("m_uid", world.m.uid.clone()),
    ]);
    world
}
