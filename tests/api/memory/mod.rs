//! Memory: the `/agent/memory/*` routes with validation and isolation, search ranking across
//! tiers, and the memory tools, context block, extraction and decay driven by chat turns.

mod chat;
mod isolation;
mod routes;
mod search;
mod support;
