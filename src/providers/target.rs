//! Where an inference call goes and whose credentials it may carry.
//!
//! A [`Target`] names a provider, a model, optionally an endpoint override and the
//! [`Credentials`] to use. The registry decides what is actually attached: the operator's
//! keys only ever travel to the provider's configured base URL, an `allowedEndpoints` entry
//! or an endpoint the operator wrote itself (a global agent); everything else is sent with
//! the workspace's own key, or with none.

use serde::Serialize;

use crate::config::Secret;

/// A workspace's own provider key, decrypted for one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceKey {
    /// Credential id (`pcr_…`); scopes the circuit breaker and the client cache.
    pub id: String,
    /// The key; its `Debug` is masked.
    pub api_key: Secret,
    /// The credential's own base URL, used when the agent names no endpoint.
    pub base_url: Option<String>,
}

/// Whose credentials a call may carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// The operator's configured key, attached only where the operator allows it.
    #[default]
    Operator,
    /// A workspace credential named by the agent (`model.credentialId`).
    Workspace(WorkspaceKey),
}

/// Where to send a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Provider id.
    pub provider: String,
    /// Model id.
    pub model: String,
    /// Base-URL override (an agent's `model.endpoint`).
    pub endpoint: Option<String>,
    /// Credentials to use; never serialised.
    #[serde(skip)]
    pub credentials: Credentials,
    /// The endpoint was written by the operator (a global agent of `astra.yml`), so it is
    /// trusted like an `allowedEndpoints` entry.
    #[serde(skip)]
    pub operator_endpoint: bool,
}

impl Target {
    /// A target at the provider's configured endpoint.
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            model: model.into(),
            endpoint: None,
            credentials: Credentials::Operator,
            operator_endpoint: false,
        }
    }

    /// The same target at another base URL.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The same target with a workspace's own key.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }
}
