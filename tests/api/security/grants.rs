//! Security tests: grants need the receiving workspace's consent and never shadow own or
//! global agents (issue 9 item 3); membership changes take effect on the next request and
//! background work stops running as a removed member (item 4, in `membership`).

mod membership;

use crate::helpers::{FakeLlm, use_fake};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};

/// A gateway whose `openai` provider is the fake, with a global `chad` from `astra.yml`.
async fn app_with_global_chad(fake: &FakeLlm) -> TestApp {
    spawn_app_with(|c| {
        use_fake(c, fake);
        c.file.agents = vec![json!({
            "id": "chad", "displayName": "Global chad",
            "model": {"provider": "openai", "modelId": "gpt-4o-mini"},
            "systemPromptTemplate": "GLOBAL-CHAD-PROMPT",
        })];
    })
    .await
}

fn agent(id: &str, prompt: &str) -> Value {
    json!({
        "id": id, "displayName": id,
        "model": {"provider": "openai", "modelId": "gpt-4o-mini"},
        "systemPromptTemplate": prompt,
        "tools": {"allow": ["current_time"]},
    })
}

/// Chats with `agent_id` as `token` in `ws`: (status, system prompt the model received).
async fn chat(
    app: &TestApp,
    fake: &FakeLlm,
    token: &str,
    ws: &str,
    agent_id: &str,
) -> (u16, String) {
    let before = fake.hits();
    let r = app
        .send_ws(
            Method::POST,
            "/agent/chat",
            token,
            ws,
            Some(json!({"message": "hello", "agentId": agent_id})),
        )
        .await;
    let prompt = if fake.hits() > before {
        fake.last_request()["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    } else {
        String::new()
    };
    (r.status, prompt)
}

struct Attack {
    app: TestApp,
    fake: FakeLlm,
    /// Workspace V and its owner.
    v: String,
    v_owner: String,
    /// A member of V who also owns workspace M (the attacker).
    mallory: String,
    m: String,
    /// An ordinary member of V (the victim).
    vic: String,
}

/// Mallory, a member of V, creates M with agents `chad` and `spy` and grants both to V.
async fn attack() -> Attack {
    let fake = FakeLlm::saying("ok").await;
    let app = app_with_global_chad(&fake).await;
    let (v_owner, _, _) = app.register("v-owner@example.com").await;
    let (mallory, _, _) = app.register("mallory@example.com").await;
    let (vic, _, _) = app.register("vic@example.com").await;
    let v = app.workspace(&v_owner, "V").await;
    for email in ["mallory@example.com", "vic@example.com"] {
        app.post(
            &format!("/workspaces/{v}/members"),
            &v_owner,
            json!({"email": email, "role": "member"}),
        )
        .await
        .expect(201);
    }
    let m = app.workspace(&mallory, "M").await;
    for (id, prompt) in [("chad", "EVIL-CHAD-PROMPT"), ("spy", "EVIL-SPY-PROMPT")] {
        app.send_ws(
            Method::POST,
            "/agents",
            &mallory,
            &m,
            Some(agent(id, prompt)),
        )
        .await
        .expect(201);
        app.post(
            &format!("/workspaces/{m}/grants"),
            &mallory,
            json!({"receivingWorkspaceId": v, "agentId": id}),
        )
        .await
        .expect(201);
    }
    Attack {
        app,
        fake,
        v,
        v_owner,
        mallory,
        m,
        vic,
    }
}

impl Attack {
    async fn incoming(&self, token: &str, query: &str) -> Value {
        self.app
            .get(
                &format!("/workspaces/{}/grants?direction=incoming{query}", self.v),
                token,
            )
            .await
            .expect(200)
            .body
    }

    async fn grant_id(&self, agent_id: &str) -> String {
        let list = self.incoming(&self.v_owner, "").await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["agentId"] == agent_id)
            .and_then(|g| g["id"].as_str())
            .unwrap()
            .to_string()
    }

    async fn answer(&self, token: &str, grant: &str, verb: &str) -> crate::helpers::Resp {
        self.app
            .post(
                &format!("/workspaces/{}/grants/{grant}/{verb}", self.v),
                token,
                json!({}),
            )
            .await
    }
}

#[tokio::test]
async fn an_unaccepted_grant_changes_nothing_and_never_shadows_a_global_agent() {
    let a = attack().await;
    // Before V consents: `chad` is the global one, `spy` is refused like any foreign agent.
    let (status, prompt) = chat(&a.app, &a.fake, &a.vic, &a.v, "chad").await;
    assert_eq!(status, 200);
    assert!(prompt.contains("GLOBAL-CHAD-PROMPT"), "{prompt}");
    let (status, _) = chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await;
    assert_eq!(status, 403);
    let incoming = a.incoming(&a.vic, "").await;
    assert_eq!(incoming["total"], 2);
    for g in incoming["items"].as_array().unwrap() {
        assert_eq!(g["status"], "pending", "{g}");
    }

    // Mallory is a member of V, not an owner/admin: she cannot accept for V.
    let spy = a.grant_id("spy").await;
    let chad = a.grant_id("chad").await;
    a.answer(&a.mallory, &spy, "accept")
        .await
        .expect_error(403, "FORBIDDEN");
    a.answer(&a.vic, &chad, "accept")
        .await
        .expect_error(403, "FORBIDDEN");
    // Nor through her own workspace M, which is the granting side.
    a.app
        .post(
            &format!("/workspaces/{}/grants/{spy}/accept", a.m),
            &a.mallory,
            json!({}),
        )
        .await
        .expect_error(404, "NOT_FOUND");
    let (status, _) = chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await;
    assert_eq!(status, 403);

    // V's owner accepts both: `spy` now runs; `chad` stays the global agent.
    for g in [&spy, &chad] {
        let r = a.answer(&a.v_owner, g, "accept").await.expect(200);
        assert_eq!(r.body["status"], "active");
        assert!(r.body["respondedAt"].is_string() && r.body["respondedBy"].is_string());
    }
    let (status, prompt) = chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await;
    assert_eq!(status, 200);
    assert!(prompt.contains("EVIL-SPY-PROMPT"), "{prompt}");
    let (status, prompt) = chat(&a.app, &a.fake, &a.vic, &a.v, "chad").await;
    assert_eq!(status, 200);
    assert!(prompt.contains("GLOBAL-CHAD-PROMPT"), "{prompt}");
    // Accepting twice is a conflict.
    a.answer(&a.v_owner, &spy, "accept")
        .await
        .expect_error(409, "CONFLICT");

    // V's own agents win over both the global and the granted ones (colliding ids).
    for (id, prompt) in [("chad", "OWN-CHAD-PROMPT"), ("spy", "OWN-SPY-PROMPT")] {
        a.app
            .send_ws(
                Method::POST,
                "/agents",
                &a.v_owner,
                &a.v,
                Some(agent(id, prompt)),
            )
            .await
            .expect(201);
        let (status, got) = chat(&a.app, &a.fake, &a.vic, &a.v, id).await;
        assert_eq!(status, 200);
        assert!(got.contains(prompt), "{id}: {got}");
    }
    // The granted agents never appear in V's agent list.
    let list = a
        .app
        .send_ws(Method::GET, "/agents?limit=100", &a.vic, &a.v, None)
        .await
        .expect(200);
    let text = list.text;
    assert!(!text.contains(&a.m), "{text}");
}

#[tokio::test]
async fn grants_are_listed_on_both_sides_and_can_be_declined() {
    let a = attack().await;
    // The granting side sees its outgoing grants with their status (the default answer).
    let out = a
        .app
        .get(&format!("/workspaces/{}/grants", a.m), &a.mallory)
        .await
        .expect(200)
        .body;
    assert_eq!(out["total"], 2);
    for g in out["items"].as_array().unwrap() {
        assert_eq!(g["status"], "pending");
        assert_eq!(g["receivingWorkspaceId"], a.v.as_str());
    }
    let same = a
        .app
        .get(
            &format!(
                "/workspaces/{}/grants?direction=outgoing&status=pending",
                a.m
            ),
            &a.mallory,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(same["total"], 2);
    // The receiving side sees them as incoming; any member may look, outsiders may not.
    let incoming = a.incoming(&a.vic, "&status=pending").await;
    assert_eq!(incoming["total"], 2);
    assert_eq!(incoming["items"][0]["workspaceId"], a.m.as_str());
    let outgoing_of_v = a
        .app
        .get(&format!("/workspaces/{}/grants", a.v), &a.v_owner)
        .await
        .expect(200)
        .body;
    assert_eq!(outgoing_of_v["total"], 0);
    let (outsider, _, _) = a.app.register("outsider@example.com").await;
    a.app
        .get(
            &format!("/workspaces/{}/grants?direction=incoming", a.v),
            &outsider,
        )
        .await
        .expect_error(403, "FORBIDDEN");
    for bad in ["?direction=sideways", "?status=maybe"] {
        a.app
            .get(&format!("/workspaces/{}/grants{bad}", a.v), &a.v_owner)
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }

    // Decline `spy`: still refused, listed as declined on both sides.
    let spy = a.grant_id("spy").await;
    let r = a.answer(&a.v_owner, &spy, "decline").await.expect(200);
    assert_eq!(r.body["status"], "declined");
    let (status, _) = chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await;
    assert_eq!(status, 403);
    assert_eq!(a.incoming(&a.vic, "&status=declined").await["total"], 1);
    assert_eq!(a.incoming(&a.vic, "&status=pending").await["total"], 1);
    a.answer(&a.v_owner, &spy, "accept")
        .await
        .expect_error(409, "CONFLICT");
    a.answer(&a.v_owner, &spy, "decline")
        .await
        .expect_error(409, "CONFLICT");
    a.answer(&a.v_owner, "grt_unknown", "accept")
        .await
        .expect_error(404, "NOT_FOUND");
    // Offering it again makes it pending (not active).
    let again = a
        .app
        .post(
            &format!("/workspaces/{}/grants", a.m),
            &a.mallory,
            json!({"receivingWorkspaceId": a.v, "agentId": "spy"}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["status"], "pending");
    assert!(again.body["respondedAt"].is_null());
    let (status, _) = chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await;
    assert_eq!(status, 403);

    // Declining an active grant withdraws consent.
    a.answer(&a.v_owner, &spy, "accept").await.expect(200);
    assert_eq!(chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await.0, 200);
    a.answer(&a.v_owner, &spy, "decline").await.expect(200);
    assert_eq!(chat(&a.app, &a.fake, &a.vic, &a.v, "spy").await.0, 403);
}

#[tokio::test]
async fn accept_and_decline_are_documented_with_typed_responses() {
    let fake = FakeLlm::saying("ok").await;
    let app = app_with_global_chad(&fake).await;
    let doc = app
        .send(Method::GET, "/openapi.json", None, &[])
        .await
        .expect(200)
        .body;
    for verb in ["accept", "decline"] {
        let op = &doc["paths"][format!("/workspaces/{{id}}/grants/{{grantId}}/{verb}")]["post"];
        let ok = &op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(ok, "#/components/schemas/GrantOut", "{verb}: {op}");
        for status in ["403", "404", "409"] {
            assert!(op["responses"][status].is_object(), "{verb} {status}");
        }
    }
    let status = &doc["components"]["schemas"]["GrantOut"]["properties"]["status"];
    assert!(status.is_object(), "GrantOut.status missing");
}
