//! Agents: validated configurations, system-prompt templates, global agents from
//! `astra.yml`, version history, memory profiles, onboarding and the resolution of the agent
//! a chat turn runs.

mod catalog;
mod config;
mod globals;
mod input;
mod memory_profile;
pub mod onboarding;
pub mod profiles;
mod resolve;
pub mod service;
mod stored;
mod template;
pub mod versions;

pub use catalog::{check_catalog, require_catalog};
pub use config::*;
pub use globals::GlobalAgents;
pub use input::{AgentConfigIn, FallbackIn, ModelIn, SessionIn, ToolsIn};
pub use memory_profile::{MemoryProfileIn, MemoryProfileSpec, TiersIn};
pub use resolve::{AgentSource, ResolvedAgent, resolve_agent};
pub use service::{AgentEnv, AgentView};
pub use template::{
    PLACEHOLDERS, PromptContext, TemplateError, check_template, render_system_prompt,
};

/// Re-exported from the store, where credentials (below agents) reads it too.
pub(crate) use crate::store::stored_now;
