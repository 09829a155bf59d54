//! What a request made with an API key may do: the grant an [`super::AuthUser`] carries, its
//! scopes, and the one list of chat routes. Keys themselves are the `api_keys` module's.

use crate::error::ApiError;

/// Routes that run an agent turn: the only non-GET routes a key (with `chat`) may call.
pub const CHAT_ROUTES: &[&str] = &[
    "/agent/chat",
    "/agent/chat/stream",
    "/v1/chat/completions",
    "/mcp",
];

/// The WebSocket channel: a key with either scope may open it; its `chat` frames are then
/// judged as `/agent/chat/stream` and its presence pushes as a read.
pub const WS_ROUTE: &str = "/ws";

/// Route prefix of key management, which keys may read but never change.
const KEY_ROUTES: &str = "/api-keys";

/// What a key-authenticated request is limited to.
#[derive(Debug, Clone)]
pub struct ApiKeyGrant {
    /// The key (`key_…`).
    pub key_id: String,
    /// The one workspace the key may act in; `None` = any of its user's.
    pub workspace_id: Option<String>,
    /// What the key may do.
    pub scopes: Scopes,
}

/// The scopes of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    /// May run agents ([`CHAT_ROUTES`]).
    pub chat: bool,
    /// May call GET routes.
    pub read: bool,
}

impl Default for Scopes {
    fn default() -> Self {
        Self {
            chat: true,
            read: true,
        }
    }
}

impl Scopes {
    /// Parses scope names (`chat`, `read`); `None` for an unknown name or an empty list.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Option<Self> {
        let mut scopes = Self {
            chat: false,
            read: false,
        };
        for name in names {
            match name.as_ref() {
                "chat" => scopes.chat = true,
                "read" => scopes.read = true,
                _ => return None,
            }
        }
        (scopes.chat || scopes.read).then_some(scopes)
    }

    /// Parses the stored comma-separated form.
    pub fn from_stored(text: &str) -> Self {
        let names: Vec<&str> = text.split(',').filter(|s| !s.is_empty()).collect();
        Self::parse(&names).unwrap_or(Self {
            chat: false,
            read: false,
        })
    }

    /// The scope names, in a fixed order.
    pub fn names(self) -> Vec<String> {
        let mut names = Vec::new();
        if self.chat {
            names.push("chat".to_string());
        }
        if self.read {
            names.push("read".to_string());
        }
        names
    }

    /// The stored comma-separated form.
    pub fn stored(self) -> String {
        self.names().join(",")
    }
}

/// 403 unless a key with `scopes` may call `method` on the route template `path`: GET (and
/// HEAD) needs `read`; anything else needs `chat` and must be a chat route. Keys never change
/// keys, whatever their scopes.
pub fn permits(scopes: Scopes, method: &str, path: &str) -> Result<(), ApiError> {
    let refuse = |why: &str| Err(ApiError::Forbidden(format!("API key not allowed: {why}")));
    let reading = method == "GET" || method == "HEAD";
    if path == WS_ROUTE && reading {
        return if scopes.chat || scopes.read {
            Ok(())
        } else {
            refuse("the key has no scope")
        };
    }
    if path.starts_with(KEY_ROUTES) && !reading {
        return refuse("API keys cannot manage API keys");
    }
    if reading {
        return if scopes.read {
            Ok(())
        } else {
            refuse("the key lacks the read scope")
        };
    }
    if !CHAT_ROUTES.contains(&path) {
        return refuse("only chat routes accept API keys for writes");
    }
    if scopes.chat {
        Ok(())
    } else {
        refuse("the key lacks the chat scope")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Scopes = Scopes {
        chat: true,
        read: true,
    };

    #[test]
    fn scopes_parse_and_round_trip() {
        assert_eq!(
            Scopes::parse(&["read"]).map(Scopes::stored),
            Some("read".into())
        );
        assert_eq!(Scopes::parse(&["bogus"]), None);
        assert_eq!(Scopes::parse::<&str>(&[]), None);
        assert_eq!(Scopes::from_stored("chat,read"), ALL);
    }

    #[test]
    fn writes_only_on_chat_routes_and_never_on_keys() {
        assert!(permits(ALL, "POST", "/agent/chat").is_ok());
        assert!(permits(ALL, "GET", "/agents").is_ok());
        assert!(permits(ALL, "GET", "/api-keys").is_ok());
        assert!(permits(ALL, "POST", "/agents").is_err());
        assert!(permits(ALL, "POST", "/api-keys").is_err());
        assert!(permits(ALL, "DELETE", "/api-keys/{id}").is_err());
        let read = Scopes {
            chat: false,
            read: true,
        };
        assert!(permits(read, "POST", "/agent/chat").is_err());
        let chat = Scopes {
            chat: true,
            read: false,
        };
        assert!(permits(chat, "GET", "/agents").is_err());
        assert!(permits(chat, "GET", WS_ROUTE).is_ok() && permits(read, "GET", WS_ROUTE).is_ok());
        assert!(permits(ALL, "POST", WS_ROUTE).is_err());
    }
}
