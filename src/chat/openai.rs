//! The OpenAI-compatible surface over agents (`/v1`): which agents a caller may name as
//! models, and how an OpenAI chat request becomes one agent turn.
//!
//! A completion on `agent/<id>` is an ordinary turn through [`super::turn`]: the agent owns
//! its prompt, tools and memory, so the client's `tools` are refused and only its last user
//! message is sent; earlier client messages are not injected (the turn API has none), the
//! agent's stored session is the history. Without `X-Astra-Session` every request gets a
//! fresh surface (`v1-<uuid>`), so requests are independent.

use chrono::{DateTime, Utc};

use super::input::{ChatBody, ChatInput, Surface};
use crate::{
    agents::{AgentEnv, service},
    error::{ApiError, ApiResult},
    store::GrantDirection,
};

/// The prefix of agent model ids.
pub const AGENT_PREFIX: &str = "agent/";

/// One model a caller may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    /// `agent/<agentId>`.
    pub id: String,
    /// When the agent was created (start-up for global agents, acceptance for grants).
    pub created: DateTime<Utc>,
    /// `astra` for global agents, else the owning workspace.
    pub owned_by: String,
}

/// The agents a member of `ws` may run, as models: own and global agents (as the agent list
/// merges them), then agents of active, unexpired grants an own or global agent does not
/// shadow (the order `agents::resolve_agent` uses).
pub async fn models(
    env: &AgentEnv<'_>,
    ws: &str,
    now: DateTime<Utc>,
) -> ApiResult<Vec<ModelEntry>> {
    let mut entries: Vec<ModelEntry> = service::list(env, ws)
        .await?
        .into_iter()
        .map(|view| ModelEntry {
            id: format!("{AGENT_PREFIX}{}", view.config.id),
            created: view.created_at,
            owned_by: view.workspace_id.unwrap_or_else(|| "astra".into()),
        })
        .collect();
    let grants = env
        .store
        .grants()
        .grants_list(ws, GrantDirection::Incoming, Some("active"))
        .await?;
    for grant in grants {
        let id = format!("{AGENT_PREFIX}{}", grant.agent_id);
        let live = grant.expires_at.is_none_or(|at| at > now);
        if live && !entries.iter().any(|e| e.id == id) {
            entries.push(ModelEntry {
                id,
                created: grant.responded_at.unwrap_or(grant.created_at),
                owned_by: grant.workspace_id,
            });
        }
    }
    Ok(entries)
}

/// The agent id of an `agent/<id>` model; any other model is unknown (404).
pub fn agent_of(model: &str) -> ApiResult<&str> {
    match model.strip_prefix(AGENT_PREFIX) {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(ApiError::NotFound(format!(
            "The model {model:?} does not exist; use agent/<agentId> (see GET /v1/models)"
        ))),
    }
}

/// One client message, reduced to what the turn needs.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    /// `system|user|assistant|tool|developer`.
    pub role: String,
    /// Its text (text parts joined when the content was an array).
    pub text: String,
}

/// What an OpenAI chat request asks of an agent.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The model, `agent/<id>`.
    pub model: String,
    /// The conversation sent by the client.
    pub messages: Vec<ClientMessage>,
    /// Whether the client sent `tools`.
    pub has_tools: bool,
    /// `X-Astra-Session`: the surface id of a stored session to continue.
    pub session: Option<String>,
}

/// The turn input of a completion: the last user message on surface `chat`, in the given
/// session or a fresh one. 400 when the client sent tools or no user message.
pub fn turn_input(req: &CompletionRequest, allow_private: bool) -> ApiResult<ChatInput> {
    let agent_id = agent_of(&req.model)?;
    if req.has_tools {
        return Err(ApiError::field(
            "tools",
            "agent models run their own tools server-side; do not send tools",
        ));
    }
    let message = req
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map(|m| m.text.clone())
        .ok_or_else(|| ApiError::field("messages", "must contain a user message"))?;
    let surface_id = req
        .session
        .clone()
        .unwrap_or_else(|| format!("v1-{}", uuid::Uuid::now_v7().simple()));
    ChatBody {
        message,
        agent_id: Some(agent_id.to_string()),
        surface: Some(Surface::Chat),
        surface_id: Some(surface_id),
        webhook_url: None,
    }
    .validate(false, allow_private)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(model: &str, roles: &[(&str, &str)]) -> CompletionRequest {
        CompletionRequest {
            model: model.into(),
            messages: roles
                .iter()
                .map(|(role, text)| ClientMessage {
                    role: (*role).into(),
                    text: (*text).into(),
                })
                .collect(),
            has_tools: false,
            session: None,
        }
    }

    #[test]
    fn the_last_user_message_is_the_turn_message() {
        let req = request(
            "agent/chad",
            &[
                ("system", "s"),
                ("user", "one"),
                ("assistant", "a"),
                ("user", "two"),
            ],
        );
        let input = turn_input(&req, false).unwrap();
        assert_eq!(input.message, "two");
        assert_eq!(input.agent_id, "chad");
        assert!(input.surface_id.starts_with("v1-"));
    }

    #[test]
    fn other_models_are_unknown_and_tools_are_refused() {
        assert!(matches!(agent_of("gpt-4o"), Err(ApiError::NotFound(_))));
        assert!(matches!(agent_of("agent/"), Err(ApiError::NotFound(_))));
        let mut req = request("agent/chad", &[("user", "hi")]);
        req.has_tools = true;
        assert!(matches!(
            turn_input(&req, false),
            Err(ApiError::Validation { .. })
        ));
        let none = request("agent/chad", &[("system", "only")]);
        assert!(matches!(
            turn_input(&none, false),
            Err(ApiError::Validation { .. })
        ));
    }
}
