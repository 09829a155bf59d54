//! Credential operations and the agent rules around them (no HTTP here).

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::cipher::CredentialCipher;
use crate::{
    config::Secret,
    error::{ApiError, ApiResult},
    providers::{Credentials, PROVIDER_IDS, ProviderRegistry, Target, WorkspaceKey, endpoint},
    store::{ProviderCredentialRow, Store, ids::new_id, is_unique_violation},
};

/// Longest accepted key.
const MAX_KEY_LEN: usize = 4096;

/// A new credential as submitted. `apiKey` is wrapped in [`Secret`] as it is parsed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialIn {
    /// 1–100 characters, unique in the workspace.
    pub name: Option<String>,
    /// A provider id other than `bedrock` (SigV4 needs AWS credentials).
    pub provider: Option<String>,
    /// The key (1–4096 visible ASCII characters); write-only.
    #[schema(value_type = String)]
    pub api_key: Option<Secret>,
    /// Base URL used when an agent names no `model.endpoint` (default: the provider's
    /// configured one). Goes through the outbound guard.
    pub base_url: Option<String>,
}

/// Field problems collected into one 400.
#[derive(Default)]
struct Problems(Map<String, Value>);

impl Problems {
    fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| Value::String(problem.into()));
    }
    fn finish(self) -> ApiResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let message = self
            .0
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        Err(ApiError::Validation {
            message,
            details: Value::Object(self.0),
        })
    }
}

/// What the sealed key is bound to: a ciphertext moved to another row does not open.
fn aad(workspace_id: &str, id: &str) -> String {
    format!("provider-credential:{workspace_id}:{id}")
}

/// Validates and stores a credential of `ws`; a taken name is 409.
pub async fn create(
    store: &Store,
    cipher: &CredentialCipher,
    providers: &ProviderRegistry,
    ws: &str,
    actor: &str,
    input: CredentialIn,
) -> ApiResult<ProviderCredentialRow> {
    let mut p = Problems::default();
    let name = input.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 100 {
        p.add("name", "must be 1-100 characters");
    }
    let provider = input.provider.as_deref().unwrap_or_default();
    if !PROVIDER_IDS.contains(&provider) {
        p.add(
            "provider",
            format!("must be one of {}", PROVIDER_IDS.join(", ")),
        );
    } else if provider == "bedrock" {
        p.add(
            "provider",
            "bedrock signs requests with AWS credentials; workspace keys are not supported",
        );
    }
    let key_ok = input.api_key.as_ref().is_some_and(|k| {
        let k = k.expose();
        !k.is_empty() && k.len() <= MAX_KEY_LEN && k.bytes().all(|b| b.is_ascii_graphic())
    });
    if !key_ok {
        p.add(
            "apiKey",
            "is required: 1-4096 visible ASCII characters without spaces",
        );
    }
    let base_url = input.base_url.filter(|b| !b.trim().is_empty());
    if let Some(b) = &base_url
        && let Err(problem) = check_endpoint(providers, b)
    {
        p.add("baseUrl", problem);
    }
    p.finish()?;
    let api_key = input.api_key.unwrap_or_else(|| Secret::new(""));
    let id = new_id("pcr");
    let sealed = cipher
        .seal(&api_key, &aad(ws, &id))
        .map_err(|e| anyhow::anyhow!("sealing a provider credential: {e}"))?;
    let row = ProviderCredentialRow {
        id,
        workspace_id: ws.to_string(),
        name: name.to_string(),
        provider: provider.to_string(),
        base_url: base_url.map(|b| b.trim().to_string()),
        secret_ciphertext: sealed,
        created_by: actor.to_string(),
        created_at: crate::store::stored_now(),
    };
    match store
        .provider_credentials()
        .insert_provider_credential(&row)
        .await
    {
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(format!(
                "A provider credential named {name:?} already exists in this workspace"
            )));
        }
        other => other?,
    }
    store
        .users()
        .audit(
            actor,
            Some(ws),
            "provider_credential.create",
            Some(&row.id),
            serde_json::json!({"provider": row.provider, "name": row.name}),
        )
        .await?;
    Ok(row)
}

/// A page of the workspace's credentials (metadata; the sealed key stays in the row).
pub async fn list(
    store: &Store,
    ws: &str,
    limit: i64,
    offset: i64,
) -> ApiResult<(Vec<ProviderCredentialRow>, i64)> {
    Ok(store
        .provider_credentials()
        .provider_credentials_of(ws, limit, offset)
        .await?)
}

/// Deletes a credential of `ws` (404 when it has none with this id). Agents that name it
/// fail their turns with 409 until they are changed.
pub async fn delete(store: &Store, ws: &str, actor: &str, id: &str) -> ApiResult<()> {
    if !store
        .provider_credentials()
        .delete_provider_credential(ws, id)
        .await?
    {
        return Err(ApiError::not_found("Provider credential"));
    }
    store
        .users()
        .audit(
            actor,
            Some(ws),
            "provider_credential.delete",
            Some(id),
            Value::Null,
        )
        .await?;
    Ok(())
}

/// A tenant-written URL: http(s), and not an internal address unless the gateway allows
/// private URLs (host names are checked again, after resolution, by the guarded client).
fn check_endpoint(providers: &ProviderRegistry, raw: &str) -> Result<(), String> {
    let url = crate::net::parse_outbound_url(raw).map_err(|e| e.to_string())?;
    crate::net::check_url(&url, providers.config().allow_private_urls).map_err(|e| e.to_string())
}

/// The parts of an agent's model settings the credential rules read. Implemented by
/// `agents::ModelConfig`; a trait so this module sits below `agents` rather than importing it.
pub trait AgentModel {
    /// Provider id.
    fn provider(&self) -> &str;
    /// Model name at that provider.
    fn model_id(&self) -> &str;
    /// Base URL override, if any.
    fn endpoint(&self) -> Option<&str>;
    /// The workspace credential the calls carry, if any.
    fn credential_id(&self) -> Option<&str>;
}

/// The rules an agent's `model` must follow in workspace `ws`, as (field, problem) pairs:
/// `credentialId` names a credential of `ws` for the same provider; an `endpoint` the
/// operator did not allow passes the outbound guard and, when the operator has a key for
/// the provider, comes with a `credentialId` (the operator's key is never sent there).
pub async fn check_agent_model(
    store: &Store,
    providers: &ProviderRegistry,
    ws: &str,
    model: &impl AgentModel,
) -> ApiResult<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    let provider = model.provider();
    if let Some(id) = model.credential_id() {
        match store
            .provider_credentials()
            .provider_credential(ws, id)
            .await?
        {
            None => out.push((
                "model.credentialId",
                "no such provider credential in this workspace".to_string(),
            )),
            Some(c) if c.provider != provider => out.push((
                "model.credentialId",
                format!("is a {:?} credential, not {provider:?}", c.provider),
            )),
            Some(_) => {}
        }
    }
    let Some(endpoint) = model.endpoint() else {
        return Ok(out);
    };
    if providers.operator_may_call(provider, endpoint) {
        return Ok(out);
    }
    if let Err(problem) = check_endpoint(providers, endpoint) {
        out.push(("model.endpoint", problem));
    } else if provider == "bedrock" {
        out.push((
            "model.endpoint",
            "bedrock endpoints must be listed in inference.allowedEndpoints".to_string(),
        ));
    } else if model.credential_id().is_none() && providers.operator_has_key(provider) {
        out.push((
            "model.endpoint",
            "is not in inference.allowedEndpoints, so the gateway's provider key is never sent \
             there: create a provider credential in this workspace and name it in \
             model.credentialId"
                .to_string(),
        ));
    }
    Ok(out)
}

/// The primary target of a turn for an agent of `owner_ws` (`None` for a global agent):
/// its endpoint, and its workspace credential decrypted when it names one.
pub async fn primary_target(
    store: &Store,
    cipher: &CredentialCipher,
    owner_ws: Option<&str>,
    model: &impl AgentModel,
) -> ApiResult<Target> {
    let mut target = Target::new(model.provider(), model.model_id().to_string());
    if let Some(e) = model.endpoint() {
        target = target.with_endpoint(e.to_string());
    }
    // Only the operator writes global agents, so their endpoints are the operator's choice.
    target.operator_endpoint = owner_ws.is_none();
    let Some(id) = model.credential_id() else {
        return Ok(target);
    };
    let gone = || {
        ApiError::Conflict(
            "The agent's provider credential no longer exists in its workspace; update \
             model.credentialId"
                .into(),
        )
    };
    let ws = owner_ws.ok_or_else(gone)?;
    let row = store
        .provider_credentials()
        .provider_credential(ws, id)
        .await?
        .ok_or_else(gone)?;
    if row.provider != model.provider() {
        return Err(gone());
    }
    let api_key = cipher
        .open(&row.secret_ciphertext, &aad(ws, &row.id))
        .map_err(|e| anyhow::anyhow!("provider credential {}: {e}", row.id))?;
    let base_url = row
        .base_url
        .as_deref()
        .and_then(endpoint::normalise)
        .map(|u| endpoint::base_text(&u));
    Ok(
        target.with_credentials(Credentials::Workspace(WorkspaceKey {
            id: row.id,
            api_key,
            base_url,
        })),
    )
}
