//! Agent chat over real HTTP against a fake OpenAI-compatible upstream.

mod access;
mod basic;
mod history_cache;
mod idempotency;
mod limits;
mod reply_outbox;
mod sessions;
mod tools;
mod webhook;
