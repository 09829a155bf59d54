//! Agent chat over real HTTP against a fake OpenAI-compatible upstream.

mod access;
mod basic;
mod fake_llm;
mod idempotency;
mod limits;
mod sessions;
mod support;
mod tools;
mod webhook;
