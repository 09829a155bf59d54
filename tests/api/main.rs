//! The single integration-test binary: every route group over real HTTP, on SQLite by
//! default and on PostgreSQL when `ASTRA_TEST_DATABASE_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod admin;
mod agents;
mod api_keys;
mod auth;
mod autonomous;
mod budgets;
mod chat;
mod cluster;
mod console;
mod costs;
mod diagnostics;
mod heartbeat;
mod helpers;
mod hostile_input;
mod jobs;
mod mcp;
mod mcp_server;
mod memory;
mod memory_profiles;
mod onboarding;
mod openai_v1;
mod openapi_schemas;
mod plumbing;
mod prometheus;
mod providers;
mod reliability;
mod security;
mod sessions;
mod skills;
mod tools;
mod traces;
mod user_usage;
mod webhooks;
mod workspaces;
mod workspaces_members;
mod ws;
