//! Memory: the `/agent/memory/*` routes with validation and isolation, search ranking across
//! tiers, semantic (hybrid) search, the local model2vec embedder, the HTTP embedder against the fake's `/v1/embeddings`, and the memory tools, context block, extraction and decay driven by chat turns.

mod chat;
mod embeddings;
mod isolation;
mod model2vec;
mod routes;
mod search;
mod semantic;
mod support;
