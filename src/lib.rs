//! Astra: a self-hosted AI-agent gateway.

pub mod net;
pub mod skills;
pub mod tools;
