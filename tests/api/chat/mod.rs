//! Agent chat over real HTTP against a fake OpenAI-compatible upstream.

mod access;
mod basic;
pub(crate) mod fake_llm;
mod idempotency;
mod limits;
mod sessions;
pub(crate) mod support;
mod tools;
mod webhook;
