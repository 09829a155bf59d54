//! Memory: the `/agent/memory/*` routes with validation and isolation, search ranking across
//! tiers, semantic (hybrid) search, and the memory tools, context block, extraction and decay driven by chat turns.

mod chat;
mod isolation;
mod routes;
mod search;
mod semantic;
mod support;
