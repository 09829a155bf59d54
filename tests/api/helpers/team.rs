//! Ready-made callers: a user with a token and a workspace, and a team of every role in one
//! workspace, each able to send authenticated requests in their workspace.

use reqwest::Method;
use serde_json::{Value, json};

use super::app::{Resp, TestApp};

/// A registered user and the workspace their calls go to.
#[derive(Clone, Debug)]
#[allow(dead_code)] // `email` and `refresh` are there for the tests that need them.
pub struct User {
    pub email: String,
    pub token: String,
    pub id: String,
    pub refresh: String,
    /// The workspace sent as `X-Workspace-Id`.
    pub ws: String,
}

/// One workspace with a member of every role, plus an outsider with his own workspace.
#[derive(Clone, Debug)]
pub struct Team {
    /// The shared workspace.
    pub ws: String,
    pub owner: User,
    pub admin: User,
    pub member: User,
    pub viewer: User,
    /// Not in `ws`; his `ws` is his own workspace.
    pub outsider: User,
}

/// A fresh unique e-mail with this prefix, so several users never collide.
pub fn unique_email(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::now_v7().simple())
}

impl TestApp {
    /// Registers `email` and creates a workspace named `name` for him.
    pub async fn user_in_new_workspace(&self, email: &str, name: &str) -> User {
        let (token, id, refresh) = self.register(email).await;
        let ws = self.workspace(&token, name).await;
        User {
            email: email.to_string(),
            token,
            id,
            refresh,
            ws,
        }
    }

    /// A new user with a token and his own workspace.
    pub async fn user_with_workspace(&self) -> User {
        let email = unique_email("user");
        self.user_in_new_workspace(&email, "Mine").await
    }

    /// A new user whose workspace comes from `/onboarding/setup` (default agents included).
    pub async fn onboarded_user(&self, email: &str) -> User {
        let (token, id, refresh) = self.register(email).await;
        let r = self
            .post("/onboarding/setup", &token, json!({"workspaceName": email}))
            .await
            .expect(201);
        let ws = r.body["workspace"]["id"].as_str().expect("ws").to_string();
        let email = email.to_string();
        User {
            email,
            token,
            id,
            refresh,
            ws,
        }
    }

    /// Registers `email` and adds him to `ws` with `role` (as `by`); his calls go to `ws`.
    /// With `by_uid` the invitation names his user id instead of his e-mail.
    pub async fn user_with_role(&self, by: &User, email: &str, role: &str, by_uid: bool) -> User {
        let (token, id, refresh) = self.register(email).await;
        let invite = if by_uid {
            json!({"uid": id, "role": role})
        } else {
            json!({"email": email, "role": role})
        };
        let path = format!("/workspaces/{}/members", by.ws);
        self.post(&path, &by.token, invite).await.expect(201);
        let (email, ws) = (email.to_string(), by.ws.clone());
        User {
            email,
            token,
            id,
            refresh,
            ws,
        }
    }

    /// Owner, admin, member and viewer of one workspace named "Acme", plus an outsider with
    /// a workspace of his own. E-mails are `{role}@example.com`; the viewer is invited by user
    /// id, the others by e-mail, so both ways of adding a member are exercised.
    pub async fn team(&self) -> Team {
        self.team_named("").await
    }

    /// Like [`TestApp::team`] with e-mails `{prefix}{role}@example.com`, for several teams in
    /// one app.
    pub async fn team_named(&self, prefix: &str) -> Team {
        let email = |role: &str| format!("{prefix}{role}@example.com");
        let owner = self.user_in_new_workspace(&email("owner"), "Acme").await;
        let ws = owner.ws.clone();
        let role = |role: &'static str| {
            let (owner, email) = (&owner, email(role));
            async move {
                self.user_with_role(owner, &email, role, role == "viewer")
                    .await
            }
        };
        let (admin, member, viewer) = (
            role("admin").await,
            role("member").await,
            role("viewer").await,
        );
        let outsider = self
            .user_in_new_workspace(&email("outsider"), "Elsewhere")
            .await;
        Team {
            ws,
            owner,
            admin,
            member,
            viewer,
            outsider,
        }
    }

    /// A request as `user` in his workspace.
    pub async fn call(&self, user: &User, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.send_ws(method, path, &user.token, &user.ws, body)
            .await
    }

    /// GET as `user` in his workspace.
    pub async fn get_as(&self, user: &User, path: &str) -> Resp {
        self.call(user, Method::GET, path, None).await
    }

    /// POST as `user` in his workspace.
    pub async fn post_as(&self, user: &User, path: &str, body: Value) -> Resp {
        self.call(user, Method::POST, path, Some(body)).await
    }
}
