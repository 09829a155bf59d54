//! The test kit: a real gateway on a fresh database ([`TestApp`]), ready-made users and teams
//! ([`User`], [`Team`]), the one scripted fake LLM upstream ([`FakeLlm`]), typed reply
//! structs for recurring assertions, and SSE parsing.

mod app;
mod chat;
mod db;
pub mod eventstream;
pub mod llm;
mod replies;
mod sse;
mod team;
mod wire;

pub use app::*;
pub use chat::{ChatApp, agent, chat_app, chat_app_with, use_fake};
pub use db::TestDb;
pub use llm::{
    ANSWER, Answer, FakeLlm, Reply, UPSTREAM_SECRET_BODY, data_events, has_tool_result,
    last_user_text, offers_tools,
};
pub use replies::*;
pub use sse::{names, parse_sse};
pub use team::{User, unique_email};
pub use wire::{FAKE_EMBEDDING_DIM, fake_embedding_tokens};
