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

/// Property tests (issue #12): the chat body is the most exposed input of the gateway. Any
/// bytes end in a typed body or a 400 naming a field, never a panic; accepted input respects
/// every bound; a valid body round-trips unchanged.
#[cfg(test)]
mod prop {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::ChatBody;
    use crate::validate::parse_json;

    /// Values of any JSON type, strings often near the bounds.
    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,20}".prop_map(Value::from),
            (0usize..3).prop_map(|i| Value::from("x".repeat([64, 65, 10_001][i]))),
            prop::sample::select(vec![
                "chat",
                "group",
                "CHAT",
                "https://example.com/h",
                "http://127.0.0.1/",
                "ftp://x"
            ])
            .prop_map(Value::from),
            Just(json!([])),
            Just(json!({"a": 1})),
        ]
    }

    /// Objects with the body's keys (and others), any values.
    fn body() -> impl Strategy<Value = Value> {
        let key = prop::sample::select(vec![
            "message",
            "agentId",
            "surface",
            "surfaceId",
            "webhookUrl",
            "extra",
            "Message",
        ]);
        prop::collection::btree_map(key, value(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
    }

    /// Raw bytes around JSON syntax.
    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "{",
                "}",
                "[",
                "]",
                ":",
                ",",
                "\"message\"",
                "\"a\"",
                "\\u0000",
                "\\\\u0000",
                "\\ud800",
                "1e999",
                "null"
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            prop::collection::vec(any::<u8>(), 0..6),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    /// Parses and validates like the route: the input, or the error's status and code.
    fn admit(bytes: &[u8], streaming: bool) -> Result<super::ChatInput, (u16, &'static str)> {
        parse_json::<ChatBody>(bytes)
            .and_then(|b| b.validate(streaming, false))
            .map_err(|e| (e.status().as_u16(), e.code()))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_are_a_body_or_a_400(raw in bytes(), streaming in any::<bool>()) {
            if let Err(e) = admit(&raw, streaming) {
                prop_assert_eq!(e, (400, "VALIDATION_ERROR"));
            }
        }

        #[test]
        fn accepted_bodies_respect_every_bound(b in body(), streaming in any::<bool>()) {
            match admit(b.to_string().as_bytes(), streaming) {
                Ok(input) => {
                    prop_assert!((1..=10_000).contains(&input.message.chars().count()));
                    prop_assert!((1..=64).contains(&input.agent_id.len()));
                    prop_assert!((1..=128).contains(&input.surface_id.len()));
                    prop_assert!(!streaming || input.webhook_url.is_none());
                    if let Some(url) = input.webhook_url {
                        prop_assert!(url.scheme() == "https" || url.scheme() == "http");
                        prop_assert_ne!(url.host_str(), Some("127.0.0.1"));
                    }
                }
                Err(e) => prop_assert_eq!(e, (400, "VALIDATION_ERROR")),
            }
        }

        #[test]
        fn a_valid_body_round_trips(
            message in "[^\u{0}]{1,200}",
            agent in "[a-z0-9-]{1,64}",
            surface in prop::sample::select(vec!["chat", "prop", "group"]),
            surface_id in "[^\u{0}]{1,40}",
        ) {
            let raw = json!({"message": message, "agentId": agent, "surface": surface, "surfaceId": surface_id});
            let input = admit(raw.to_string().as_bytes(), true).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(input.message, message);
            prop_assert_eq!(input.agent_id, agent);
            prop_assert_eq!(input.surface.as_str(), surface);
            prop_assert_eq!(input.surface_id, surface_id);
        }
    }

    /// Deep nesting is refused by the parser's depth limit (no stack overflow), a NUL escape
    /// anywhere is a 400 (PostgreSQL cannot store it), and a body at the size limit parses
    /// in one pass.
    #[test]
    fn hostile_bodies_are_refused_cheaply() {
        let deep = format!(
            "{{\"message\": {}1{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(
            admit(deep.as_bytes(), false).err(),
            Some((400, "VALIDATION_ERROR"))
        );
        let nul = br#"{"message": "a\u0000b"}"#;
        assert_eq!(admit(nul, false).err(), Some((400, "VALIDATION_ERROR")));
        // An escaped backslash followed by "u0000" is text, not NUL.
        let text = br#"{"message": "a\\u0000b"}"#;
        assert_eq!(
            admit(text, false).map(|i| i.message),
            Ok("a\\u0000b".to_string())
        );
        let big = json!({"message": "é".repeat(10_000), "extra": "x".repeat(200_000)});
        assert!(admit(big.to_string().as_bytes(), false).is_ok());
    }
}
