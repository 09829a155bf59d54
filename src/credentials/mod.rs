//! Workspace-scoped provider credentials: a workspace's own API keys for the providers its
//! agents call at endpoints the operator did not allow (`model.credentialId`).
//!
//! The key is write-only: it is encrypted at rest ([`cipher`]), never returned, never logged
//! (it lives in a [`crate::config::Secret`]), and decrypted only for the turn that uses it.
//! [`service`] holds the create/list/delete operations and the rules an agent's `model`
//! must follow (checked when the agent is written, enforced again when it runs).

pub mod cipher;
pub mod service;

pub use cipher::{CredentialCipher, load_or_create_key, parse_key};
pub use service::{
    AgentModel, CredentialIn, check_agent_model, create, delete, list, primary_target,
};
