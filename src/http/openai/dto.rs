//! Request and response bodies of `/v1`, in OpenAI's wire shape (snake_case), plus Astra's
//! own `astra` member on completions.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::chat::{
    events::TurnUsage,
    openai::{ClientMessage, ModelEntry},
};

/// `GET /v1/models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelListOut {
    /// Always `list`.
    pub object: &'static str,
    /// The models.
    pub data: Vec<ModelOut>,
}

/// One model: an agent the caller may run, or a raw provider model.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    /// `agent/<agentId>`, or `<provider>/<model>` (with `openai.passthroughModels`).
    pub id: String,
    /// Always `model`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    /// `astra` for global agents, the owning workspace for the others, the provider for raw
    /// models.
    pub owned_by: String,
}

impl From<ModelEntry> for ModelOut {
    fn from(m: ModelEntry) -> Self {
        Self {
            id: m.id,
            object: "model",
            created: m.created.timestamp(),
            owned_by: m.owned_by,
        }
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct StreamOptionsIn {
    /// Send a last chunk with the usage of the whole turn.
    #[serde(default)]
    pub include_usage: bool,
}

/// One message of the request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MessageIn {
    /// `system|developer|user|assistant|tool`.
    pub role: String,
    /// A string or an array of content parts (`{type: "text", text}`; others are ignored).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub content: Value,
}

impl MessageIn {
    /// The message's text: the string, or its text parts joined by newlines.
    pub fn into_client(self) -> ClientMessage {
        let text = match self.content {
            Value::String(s) => s,
            Value::Array(parts) => parts
                .iter()
                .filter(|p| p["type"] == "text")
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        };
        ClientMessage {
            role: self.role,
            text,
        }
    }
}

/// `POST /v1/chat/completions`. Other OpenAI fields are ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChatCompletionIn {
    /// `agent/<agentId>`, or `<provider>/<model>` when pass-through models are on (see
    /// `GET /v1/models`).
    pub model: String,
    /// The conversation (at most 200 messages, 200 000 characters), ending with the new user
    /// message (1–10 000 characters). Roles `system`/`developer` (appended to the agent's
    /// prompt), `user`, `assistant`. Without `X-Astra-Session` the earlier messages are the
    /// turn's history; with it the stored session is.
    pub messages: Vec<MessageIn>,
    /// Answer with `chat.completion.chunk` server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    pub stream_options: Option<StreamOptionsIn>,
    /// 0–2: the sampling temperature of this turn instead of the agent's.
    pub temperature: Option<f64>,
    /// 1–1 000 000: the completion limit of each inference call instead of the agent's
    /// (`max_completion_tokens` wins when both are sent).
    pub max_tokens: Option<u64>,
    /// 1–1 000 000: as `max_tokens`.
    pub max_completion_tokens: Option<u64>,
    /// Accepted and not used: the authenticated user is the caller billed.
    pub user: Option<String>,
    /// Refused with 400: agents own their tools, and raw models are called without tools.
    #[schema(value_type = Option<Object>)]
    pub tools: Option<Value>,
}

/// Token usage in OpenAI's names.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct UsageOut {
    /// Prompt tokens over every inference call of the turn.
    pub prompt_tokens: u64,
    /// Completion tokens over every inference call of the turn.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

impl From<TurnUsage> for UsageOut {
    fn from(u: TurnUsage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// What Astra adds to a completion.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AstraOut {
    /// The stored session the turn ran in (absent for raw models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Send as `X-Astra-Session` to continue this conversation (absent for raw models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surface_id: Option<String>,
    /// Tools the agent ran, in first-call order.
    pub tools_used: Vec<String>,
    /// The turn's trace (`GET /traces/{id}`).
    pub trace_id: String,
}

/// The assistant message of a choice.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistantMessageOut {
    /// Always `assistant`.
    pub role: &'static str,
    /// The reply.
    pub content: String,
}

/// One choice (there is always exactly one).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChoiceOut {
    /// Always 0.
    pub index: u32,
    /// The reply.
    pub message: AssistantMessageOut,
    /// Always `stop`.
    pub finish_reason: &'static str,
}

/// `chat.completion`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatCompletionOut {
    /// `chatcmpl-…`.
    pub id: String,
    /// Always `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    /// The requested model.
    pub model: String,
    /// One choice.
    pub choices: Vec<ChoiceOut>,
    /// Tokens of the whole turn (tool rounds included).
    pub usage: UsageOut,
    /// Session, tools and trace of the turn.
    pub astra: AstraOut,
}

/// `{error: {message, type, param, code}}`, OpenAI's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1ErrorOut {
    /// The error.
    pub error: V1ErrorDetailOut,
}

/// The error of a `/v1` call.
#[derive(Debug, Serialize, ToSchema)]
pub struct V1ErrorDetailOut {
    /// Human-readable message.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `permission_error`,
    /// `rate_limit_exceeded` or `api_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The offending request field, when one is to blame.
    pub param: Option<String>,
    /// e.g. `invalid_api_key`, `model_not_found`, `rate_limit_exceeded`.
    pub code: Option<String>,
}
