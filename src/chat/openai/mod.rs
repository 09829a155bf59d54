//! The OpenAI-compatible surface (`/v1`) in domain terms: which models a caller may name,
//! and how an OpenAI chat request becomes either one agent turn through [`super::turn`] or,
//! for a raw provider model, a plain provider call ([`passthrough`]).
//!
//! Models: every agent the caller may run is `agent/<agentId>`; with
//! `openai.passthroughModels: true` the configured providers' priced chat models are
//! `<provider>/<model>` too. The client's `messages` are the conversation
//! ([`Conversation`]). Without `X-Astra-Session` a request is stateless: it runs on a fresh
//! surface (`v1-<uuid>`) and its earlier messages are the turn's history (given to the model,
//! not stored), its system messages extend the agent's prompt. With the header the stored
//! session of that surface is the history, as on `/agent/chat`, and only the last user message
//! is new. The agent owns its tools, so client `tools` (and tool messages) are refused.

mod conversation;
pub mod passthrough;

use chrono::{DateTime, Utc};

pub use crate::config::openai::OpenAiConfig;
pub use conversation::{
    ClientMessage, Conversation, MAX_CONVERSATION_CHARS, MAX_MESSAGE_CHARS, MAX_MESSAGES,
    MAX_OUTPUT_TOKENS, Sampling,
};
pub use passthrough::RawModel;

use super::input::{ChatBody, ChatInput, ClientContext, Surface};
use crate::{
    agents::{AgentEnv, service},
    config::Config,
    error::{ApiError, ApiResult},
    providers::Pricing,
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

/// What a model id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRoute {
    /// `agent/<agentId>`: a full agent turn.
    Agent(String),
    /// `<provider>/<model>` with pass-through models on: a plain provider call.
    Passthrough(RawModel),
}

/// Routes a model id: `agent/<id>`, else an offered raw model, else 404 (also for raw models
/// while `openai.passthroughModels` is off).
pub fn route(model: &str, config: &Config, pricing: &Pricing) -> ApiResult<ModelRoute> {
    if let Some(id) = model.strip_prefix(AGENT_PREFIX) {
        if !id.is_empty() {
            return Ok(ModelRoute::Agent(id.to_string()));
        }
    } else if let Some(raw) = passthrough::find(config, pricing, model) {
        return Ok(ModelRoute::Passthrough(raw));
    }
    Err(ApiError::NotFound(format!(
        "The model {model:?} does not exist or you do not have access to it; \
         see GET /v1/models"
    )))
}

/// What an OpenAI chat request asks.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The model id.
    pub model: String,
    /// The conversation sent by the client.
    pub messages: Vec<ClientMessage>,
    /// `temperature`.
    pub temperature: Option<f64>,
    /// `max_tokens` (older name).
    pub max_tokens: Option<u64>,
    /// `max_completion_tokens`.
    pub max_completion_tokens: Option<u64>,
    /// Whether the client sent `tools`.
    pub has_tools: bool,
    /// `X-Astra-Session`: the surface id of a stored session to continue.
    pub session: Option<String>,
}

impl CompletionRequest {
    /// The checks both kinds of model share: no client tools, a valid conversation, valid
    /// sampling overrides.
    pub fn prepare(&self) -> ApiResult<(Conversation, Sampling)> {
        if self.has_tools {
            return Err(ApiError::field(
                "tools",
                "/v1 does not take client tools: agent models run their own tools server-side",
            ));
        }
        let conversation = Conversation::parse(&self.messages)?;
        let sampling = Sampling::parse(
            self.temperature,
            self.max_tokens,
            self.max_completion_tokens,
        )?;
        Ok((conversation, sampling))
    }
}

/// The turn input of a completion on agent `agent_id`: the last user message on surface
/// `chat`; stateless (a fresh surface, the client's earlier messages as history) unless the
/// request names a stored session, whose history then applies instead.
pub fn turn_input(
    req: &CompletionRequest,
    agent_id: &str,
    conversation: &Conversation,
    sampling: Sampling,
    allow_private: bool,
) -> ApiResult<ChatInput> {
    let surface_id = req
        .session
        .clone()
        .unwrap_or_else(|| format!("v1-{}", uuid::Uuid::now_v7().simple()));
    let mut input = ChatBody {
        message: conversation.message().to_string(),
        agent_id: Some(agent_id.to_string()),
        surface: Some(Surface::Chat),
        surface_id: Some(surface_id),
        webhook_url: None,
    }
    .validate(false, allow_private)
    .map_err(|e| match e {
        // Name the request's own fields, not those of Astra's chat body.
        ApiError::Validation { details, .. } if details.get("surfaceId").is_some() => {
            ApiError::field(
                "X-Astra-Session",
                "must be a surface id of 1-128 characters",
            )
        }
        ApiError::Validation { details, .. } if details.get("agentId").is_some() => {
            ApiError::NotFound(format!("The model agent/{agent_id} does not exist"))
        }
        other => other,
    })?;
    input.client = ClientContext {
        history: match req.session {
            Some(_) => Vec::new(),
            None => conversation.history(),
        },
        instructions: conversation.instructions(),
        temperature: sampling.temperature,
        max_output_tokens: sampling.max_output_tokens,
    };
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(roles: &[(&str, &str)]) -> CompletionRequest {
        CompletionRequest {
            model: "agent/chad".into(),
            messages: roles
                .iter()
                .map(|(role, text)| ClientMessage {
                    role: (*role).into(),
                    text: (*text).into(),
                })
                .collect(),
            temperature: Some(0.1),
            max_tokens: Some(64),
            max_completion_tokens: None,
            has_tools: false,
            session: None,
        }
    }

    fn input(req: &CompletionRequest) -> ApiResult<ChatInput> {
        let (conversation, sampling) = req.prepare()?;
        turn_input(req, "chad", &conversation, sampling, false)
    }

    #[test]
    fn a_stateless_request_carries_its_conversation() {
        let req = request(&[
            ("system", "s"),
            ("user", "one"),
            ("assistant", "a"),
            ("user", "two"),
        ]);
        let input = input(&req).unwrap();
        assert_eq!(input.message, "two");
        assert_eq!(input.agent_id, "chad");
        assert!(input.surface_id.starts_with("v1-"));
        assert_eq!(input.client.history.len(), 2);
        assert_eq!(input.client.instructions.as_deref(), Some("s"));
        assert_eq!(input.client.temperature, Some(0.1));
        assert_eq!(input.client.max_output_tokens, Some(64));
    }

    #[test]
    fn a_named_session_is_the_history() {
        let mut req = request(&[("user", "one"), ("assistant", "a"), ("user", "two")]);
        req.session = Some("main".into());
        let input = input(&req).unwrap();
        assert_eq!(input.surface_id, "main");
        assert!(input.client.history.is_empty());
        req.session = Some(String::new());
        assert!(matches!(
            self::input(&req),
            Err(ApiError::Validation { details, .. }) if details.get("X-Astra-Session").is_some()
        ));
    }

    #[test]
    fn other_models_are_unknown_and_tools_are_refused() {
        let (config, pricing) = (Config::default(), Pricing::new(None).unwrap());
        assert!(matches!(
            route("gpt-4o", &config, &pricing),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            route("agent/", &config, &pricing),
            Err(ApiError::NotFound(_))
        ));
        assert_eq!(
            route("agent/chad", &config, &pricing).unwrap(),
            ModelRoute::Agent("chad".into())
        );
        let mut req = request(&[("user", "hi")]);
        req.has_tools = true;
        assert!(matches!(req.prepare(), Err(ApiError::Validation { .. })));
        let none = request(&[("system", "only")]);
        assert!(matches!(none.prepare(), Err(ApiError::Validation { .. })));
    }
}
