//! The agent loop behind `/agent/chat`, `/agent/chat/stream`, `/autonomous/*` and `agent_run`
//! jobs: session resolution, context assembly, inference with tools, and everything a turn
//! records. Callers use the one entry point, [`turn`].

pub mod admit;
pub mod context;
pub mod events;
pub mod input;
pub mod limits;
pub mod openai;
pub mod plan;
pub mod presence;
pub mod presence_feed;
pub mod record;
pub mod reply_webhook;
pub mod runner;
pub mod session;
pub mod tool_cache;
pub mod tool_exec;
pub mod turn;
pub mod turn_log;
