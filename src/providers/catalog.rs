//! The provider catalogue behind `GET /providers`: every provider the gateway knows, whether
//! the operator configured it, the models the price table knows for it, and the state of its
//! circuit breaker — what a UI needs to build an agent form. Credentials never appear.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::breaker::BreakerSnapshot;
use super::endpoint::normalise;
use super::pricing::{KnownModel, Pricing};
use super::registry::ProviderRegistry;
use crate::config::inference::PROVIDER_IDS;

/// One provider as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderInfo {
    /// Provider id (`openai`, `claude`, … or a custom id from astra.yml).
    pub id: String,
    /// Wire format its adapter speaks (`openai`, `anthropic`, `gemini`, `bedrock`).
    pub wire_format: &'static str,
    /// Whether the operator set it up (credentials, or a base URL for keyless local servers).
    pub configured: bool,
    /// Whether an operator key (or AWS credentials) is configured; the key itself never leaves.
    pub has_key: bool,
    /// Whether agents that name no provider use this one.
    pub is_default: bool,
    /// The base URL, unless it is empty or carries user info, a query or a fragment (places
    /// where credentials hide).
    pub base_url: Option<String>,
    /// Models the price table knows for it, by id.
    pub models: Vec<KnownModel>,
    /// The operator's breaker of this provider.
    pub breaker: BreakerInfo,
}

/// A breaker as listed with its provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerInfo {
    /// `closed`, `open` or `half_open`.
    pub state: &'static str,
    /// Failures counted in the current window (closed state).
    pub failures: u32,
    /// When it last opened.
    pub opened_at: Option<DateTime<Utc>>,
    /// While open: when calls will be tried again (half-open).
    pub retry_at: Option<DateTime<Utc>>,
}

/// Every known provider: built-ins in [`PROVIDER_IDS`] order, then custom ones by id.
/// Unconfigured built-ins are listed too (`configured: false`): a workspace can still use
/// them with its own credential.
pub fn catalog(
    registry: &ProviderRegistry,
    pricing: &Pricing,
    default_provider: &str,
) -> Vec<ProviderInfo> {
    let config = registry.config();
    let open_for = chrono::Duration::from_std(config.circuit_breaker.open_for).ok();
    let mut breakers: HashMap<String, BreakerSnapshot> = registry
        .breakers()
        .snapshot()
        .into_iter()
        .map(|b| (b.provider.clone(), b))
        .collect();
    let custom = config
        .providers
        .keys()
        .map(String::as_str)
        .filter(|id| !PROVIDER_IDS.contains(id));
    PROVIDER_IDS
        .iter()
        .copied()
        .chain(custom)
        .filter_map(|id| config.provider(id))
        .map(|p| {
            let breaker = match breakers.remove(&p.id) {
                Some(b) => BreakerInfo {
                    retry_at: match (b.state, b.opened_at, open_for) {
                        ("open", Some(at), Some(d)) => Some(at + d),
                        _ => None,
                    },
                    state: b.state,
                    failures: b.failures,
                    opened_at: b.opened_at,
                },
                None => BreakerInfo {
                    state: "closed",
                    failures: 0,
                    opened_at: None,
                    retry_at: None,
                },
            };
            ProviderInfo {
                id: p.id.clone(),
                wire_format: p.wire.as_str(),
                configured: p.configured,
                has_key: p.api_key.is_some() || p.aws.is_some(),
                is_default: p.id == default_provider,
                base_url: shareable(&p.base_url),
                models: pricing.models(&p.id),
                breaker,
            }
        })
        .collect()
}

/// The base URL when it is safe to show.
fn shareable(base_url: &str) -> Option<String> {
    let url = normalise(base_url)?;
    let plain = url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    plain.then(|| base_url.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_credentials_are_withheld() {
        assert_eq!(
            shareable("https://api.openai.com/v1").as_deref(),
            Some("https://api.openai.com/v1")
        );
        assert_eq!(shareable("https://u:p@llm.corp/v1"), None);
        assert_eq!(shareable("https://llm.corp/v1?key=abc"), None);
        assert_eq!(shareable(""), None);
    }
}
