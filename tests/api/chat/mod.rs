//! Agent chat over real HTTP against a fake OpenAI-compatible upstream.

mod access;
mod basic;
mod idempotency;
mod limits;
mod sessions;
mod tools;
mod webhook;
