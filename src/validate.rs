//! Input validation shared by every layer: collecting field problems into one 400
//! `VALIDATION_ERROR` with `details`, and JSON → typed input with the offending field named.
//!
//! It lives next to the error type (not in `http/`) because domain modules validate their own
//! inputs; the HTTP layer re-exports it from `http::validate` and `http::extract`.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Accumulates per-field problems; `finish` turns them into one error.
#[derive(Debug, Default)]
pub struct Problems {
    fields: Map<String, Value>,
}

impl Problems {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem for `field` (the first one per field wins).
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.fields
            .entry(field.to_string())
            .or_insert_with(|| Value::String(problem.into()));
    }

    /// Records a problem when `bad` is true.
    pub fn check(&mut self, bad: bool, field: &str, problem: impl Into<String>) {
        if bad {
            self.add(field, problem);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `Ok(())` when empty, else the 400 error.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.fields.is_empty() {
            return Ok(());
        }
        let message = self
            .fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiError::Validation {
            message,
            details: Value::Object(self.fields),
        })
    }
}

/// Checks that a string's length in characters lies in `min..=max`.
pub fn length_between(value: &str, min: usize, max: usize) -> bool {
    let n = value.chars().count();
    n >= min && n <= max
}

/// Deserialises JSON, naming the offending field on failure. A string holding NUL
/// (`\u0000`) is refused: PostgreSQL can store it neither in text nor in JSONB, so it would
/// fail as a 500 deep inside (found by the property tests of the chat body, issue #12).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if has_nul_escape(bytes) {
        return Err(ApiError::field(
            "body",
            "strings must not contain NUL characters (\\u0000)",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(path_error)
}

/// True when the JSON text escapes a NUL (`\u0000` after an odd run of backslashes; raw
/// control bytes are invalid JSON anyway). One pass over the bytes.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && *b == b'u' && bytes.get(i + 1..i + 5) == Some(b"0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// Converts an already-parsed JSON value, naming the offending field on failure.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

/// One 400 naming the field serde stopped at (`body` for syntax errors and the root).
fn path_error<E: std::fmt::Display + 'static>(err: serde_path_to_error::Error<E>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    let syntax = (&inner as &dyn std::any::Any)
        .downcast_ref::<serde_json::Error>()
        .is_some_and(|e| e.is_syntax() || e.is_eof());
    let field = if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or("body");
        if path == "." {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    } else if path == "." || syntax {
        "body".to_string()
    } else {
        path
    };
    let problem = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    ApiError::field(&field, problem)
}
