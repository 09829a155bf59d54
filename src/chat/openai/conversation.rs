//! The client's `messages` read as a conversation — validated, bounded, and split into what a
//! turn needs: the new user message (the last message), the earlier user and assistant
//! messages (the history) and the client's system and developer messages (instructions) —
//! and the sampling overrides (`temperature`, `max_tokens` / `max_completion_tokens`).

use crate::{
    error::{ApiError, ApiResult},
    providers::{Message, Role},
    validate::Problems,
};

/// Most messages one request may carry.
pub const MAX_MESSAGES: usize = 200;
/// Most characters over all messages of one request (about 50 000 tokens).
pub const MAX_CONVERSATION_CHARS: usize = 200_000;
/// Most characters of the new user message (the limit of `/agent/chat`).
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// Largest `max_tokens` / `max_completion_tokens` (the agents' `model.maxOutputTokens` bound).
pub const MAX_OUTPUT_TOKENS: u64 = 1_000_000;

/// One client message, reduced to what a turn needs.
#[derive(Debug, Clone)]
pub struct ClientMessage {
    /// `system|developer|user|assistant|tool|function`.
    pub role: String,
    /// Its text (text parts joined when the content was an array).
    pub text: String,
}

/// A validated conversation: every message in the client's order, as the provider model.
#[derive(Debug, Clone)]
pub struct Conversation {
    messages: Vec<Message>,
}

impl Conversation {
    /// Checks roles, size and shape: at most [`MAX_MESSAGES`] messages and
    /// [`MAX_CONVERSATION_CHARS`] characters, only `system`, `developer`, `user` and
    /// `assistant` roles (tool messages belong to client-side tools, which `/v1` does not
    /// take), and a last non-system message from the user, 1–[`MAX_MESSAGE_CHARS`] characters.
    pub fn parse(client: &[ClientMessage]) -> ApiResult<Self> {
        if client.len() > MAX_MESSAGES {
            return Err(ApiError::field(
                "messages",
                format!("at most {MAX_MESSAGES} messages per request"),
            ));
        }
        let chars: usize = client.iter().map(|m| m.text.chars().count()).sum();
        if chars > MAX_CONVERSATION_CHARS {
            return Err(ApiError::field(
                "messages",
                format!("at most {MAX_CONVERSATION_CHARS} characters over all messages"),
            ));
        }
        let mut problems = Problems::new();
        let mut messages = Vec::with_capacity(client.len());
        for (i, m) in client.iter().enumerate() {
            let role = match m.role.as_str() {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                "tool" | "function" => {
                    problems.add(
                        &format!("messages[{i}].role"),
                        "tool messages answer client-side tools, which /v1 does not take",
                    );
                    continue;
                }
                other => {
                    problems.add(
                        &format!("messages[{i}].role"),
                        format!("unknown role {other:?}"),
                    );
                    continue;
                }
            };
            messages.push(Message::text(role, m.text.clone()));
        }
        problems.finish()?;
        let last = messages.iter().rev().find(|m| m.role != Role::System);
        match last {
            Some(m) if m.role == Role::User => {
                let len = m.content.chars().count();
                if len == 0 || len > MAX_MESSAGE_CHARS {
                    return Err(ApiError::field(
                        "messages",
                        format!("the last user message must be 1-{MAX_MESSAGE_CHARS} characters"),
                    ));
                }
            }
            _ => {
                return Err(ApiError::field("messages", "must end with a user message"));
            }
        }
        Ok(Self { messages })
    }

    /// The new user message: the last message that is not a system message.
    pub fn message(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role != Role::System)
            .map_or("", |m| m.content.as_str())
    }

    /// The user and assistant messages before the new one, oldest first (empty ones, such as
    /// an assistant message that only carried tool calls, left out).
    pub fn history(&self) -> Vec<Message> {
        let turns: Vec<&Message> = self
            .messages
            .iter()
            .filter(|m| m.role != Role::System)
            .collect();
        turns[..turns.len().saturating_sub(1)]
            .iter()
            .filter(|m| !m.content.trim().is_empty())
            .map(|m| (*m).clone())
            .collect()
    }

    /// The system and developer messages, joined by blank lines; `None` when there are none.
    pub fn instructions(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System && !m.content.trim().is_empty())
            .map(|m| m.content.as_str())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// Every message in order (system messages where the client put them), for a plain
    /// provider call.
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
            .into_iter()
            .filter(|m| m.role != Role::Assistant || !m.content.trim().is_empty())
            .collect()
    }

    /// All text of the conversation, for the token-budget estimate.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self.messages.iter().map(|m| m.content.as_str()).collect();
        parts.join("\n")
    }
}

/// Sampling overrides of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sampling {
    /// 0–2.
    pub temperature: Option<f32>,
    /// 1–[`MAX_OUTPUT_TOKENS`].
    pub max_output_tokens: Option<u32>,
}

impl Sampling {
    /// Validates `temperature` (0–2) and `max_completion_tokens` (or the older `max_tokens`,
    /// used when the newer one is absent), 1–[`MAX_OUTPUT_TOKENS`].
    pub fn parse(
        temperature: Option<f64>,
        max_tokens: Option<u64>,
        max_completion_tokens: Option<u64>,
    ) -> ApiResult<Self> {
        let mut problems = Problems::new();
        if let Some(t) = temperature {
            problems.check(
                !(0.0..=2.0).contains(&t),
                "temperature",
                "must be between 0 and 2",
            );
        }
        let range = format!("must be between 1 and {MAX_OUTPUT_TOKENS}");
        for (field, value) in [
            ("max_tokens", max_tokens),
            ("max_completion_tokens", max_completion_tokens),
        ] {
            if let Some(v) = value {
                problems.check(!(1..=MAX_OUTPUT_TOKENS).contains(&v), field, range.clone());
            }
        }
        problems.finish()?;
        Ok(Self {
            temperature: temperature.map(|t| t as f32),
            max_output_tokens: max_completion_tokens
                .or(max_tokens)
                .and_then(|v| u32::try_from(v).ok()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(roles: &[(&str, &str)]) -> ApiResult<Conversation> {
        let client: Vec<ClientMessage> = roles
            .iter()
            .map(|(role, text)| ClientMessage {
                role: (*role).into(),
                text: (*text).into(),
            })
            .collect();
        Conversation::parse(&client)
    }

    #[test]
    fn splits_message_history_and_instructions() {
        let c = conv(&[
            ("system", "be brief"),
            ("user", "one"),
            ("assistant", "a"),
            ("developer", "in French"),
            ("assistant", ""),
            ("user", "two"),
        ])
        .unwrap();
        assert_eq!(c.message(), "two");
        let history: Vec<(Role, String)> = c
            .history()
            .into_iter()
            .map(|m| (m.role, m.content))
            .collect();
        assert_eq!(
            history,
            vec![(Role::User, "one".into()), (Role::Assistant, "a".into())]
        );
        assert_eq!(c.instructions().as_deref(), Some("be brief\n\nin French"));
        assert_eq!(c.into_messages().len(), 5);
    }

    #[test]
    fn refuses_bad_shapes_and_sizes() {
        assert!(conv(&[("system", "only")]).is_err());
        assert!(conv(&[("user", "hi"), ("assistant", "last")]).is_err());
        assert!(conv(&[("user", "")]).is_err());
        assert!(conv(&[("tool", "x"), ("user", "hi")]).is_err());
        assert!(conv(&[("robot", "x"), ("user", "hi")]).is_err());
        let many: Vec<(&str, &str)> = vec![("user", "x"); MAX_MESSAGES + 1];
        assert!(conv(&many).is_err());
        let big = "x".repeat(MAX_CONVERSATION_CHARS / 2 + 1);
        assert!(conv(&[("user", &big), ("assistant", &big), ("user", "hi")]).is_err());
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert!(conv(&[("user", &long)]).is_err());
    }

    #[test]
    fn sampling_ranges() {
        let s = Sampling::parse(Some(0.5), Some(10), Some(20)).unwrap();
        assert_eq!(s.temperature, Some(0.5));
        assert_eq!(s.max_output_tokens, Some(20));
        assert_eq!(
            Sampling::parse(None, Some(7), None)
                .unwrap()
                .max_output_tokens,
            Some(7)
        );
        assert!(Sampling::parse(Some(2.5), None, None).is_err());
        assert!(Sampling::parse(Some(-0.1), None, None).is_err());
        assert!(Sampling::parse(None, Some(0), None).is_err());
        assert!(Sampling::parse(None, None, Some(MAX_OUTPUT_TOKENS + 1)).is_err());
        assert_eq!(
            Sampling::parse(None, None, None).unwrap(),
            Sampling::default()
        );
    }
}
