//! The chat request body and its validation.

use serde::Deserialize;

use crate::{
    error::ApiResult,
    net::{check_url, parse_outbound_url},
    providers::Message,
    validate::Problems,
};

/// Where a conversation happens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// Direct chat (default).
    #[default]
    Chat,
    /// A proactive surface.
    Prop,
    /// A group conversation.
    Group,
}

impl Surface {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Chat => "chat",
            Surface::Prop => "prop",
            Surface::Group => "group",
        }
    }
}

/// The body of `/agent/chat` and `/agent/chat/stream`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatBody {
    /// 1–10 000 characters.
    pub message: String,
    /// Default `chad`.
    pub agent_id: Option<String>,
    /// `chat|prop|group` (default `chat`).
    pub surface: Option<Surface>,
    /// Default `main`.
    pub surface_id: Option<String>,
    /// Non-streaming only: where to POST the final reply.
    pub webhook_url: Option<String>,
}

/// A validated chat body.
#[derive(Debug, Clone)]
pub struct ChatInput {
    /// The user message.
    pub message: String,
    /// Agent id.
    pub agent_id: String,
    /// Surface.
    pub surface: Surface,
    /// Surface id.
    pub surface_id: String,
    /// Where to deliver the reply, if asynchronous.
    pub webhook_url: Option<reqwest::Url>,
    /// What an API client sends besides its message (empty for Astra's own routes).
    pub client: ClientContext,
}

/// What an OpenAI-style client sends besides its new message: earlier messages of its
/// conversation, its own instructions and sampling overrides for this turn. Already
/// validated and bounded by the caller (see `chat::openai`); empty everywhere else.
#[derive(Debug, Clone, Default)]
pub struct ClientContext {
    /// Earlier user and assistant messages, oldest first: the model sees them before the
    /// stored history of the session (which is empty for a stateless request). Not stored.
    pub history: Vec<Message>,
    /// The client's system messages, appended to the agent's system prompt for this turn.
    pub instructions: Option<String>,
    /// Sampling temperature (0–2) instead of the agent's.
    pub temperature: Option<f32>,
    /// Completion token limit of each inference call instead of the agent's.
    pub max_output_tokens: Option<u32>,
}

impl ChatBody {
    /// Checks lengths and the webhook URL; `streaming` refuses `webhookUrl`.
    pub fn validate(self, streaming: bool, allow_private: bool) -> ApiResult<ChatInput> {
        let mut problems = Problems::new();
        let len = self.message.chars().count();
        problems.check(
            len == 0 || len > 10_000,
            "message",
            "must be 1-10000 characters",
        );
        let agent_id = self.agent_id.unwrap_or_else(|| "chad".into());
        problems.check(
            agent_id.is_empty() || agent_id.len() > 64,
            "agentId",
            "must be 1-64 characters",
        );
        let surface_id = self.surface_id.unwrap_or_else(|| "main".into());
        problems.check(
            surface_id.is_empty() || surface_id.len() > 128,
            "surfaceId",
            "must be 1-128 characters",
        );
        let mut webhook_url = None;
        if let Some(raw) = self.webhook_url {
            if streaming {
                problems.add(
                    "webhookUrl",
                    "is only supported by the non-streaming /agent/chat",
                );
            } else {
                match parse_outbound_url(&raw)
                    .and_then(|u| check_url(&u, allow_private).map(|()| u))
                {
                    Ok(url) => webhook_url = Some(url),
                    Err(e) => problems.add("webhookUrl", e.to_string()),
                }
            }
        }
        problems.finish()?;
        Ok(ChatInput {
            message: self.message,
            agent_id,
            surface: self.surface.unwrap_or_default(),
            surface_id,
            webhook_url,
            client: ClientContext::default(),
        })
    }
}
