//! Collecting field problems into one 400 `VALIDATION_ERROR` with `details`.

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
