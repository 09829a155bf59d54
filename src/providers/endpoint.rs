//! Endpoint overrides of tenant credentials and agents: parsing and the text adapters use.
//! Which base URLs may receive the operator's keys is [`AllowedEndpoint`] (with the settings).

use reqwest::Url;

pub use crate::config::inference::AllowedEndpoint;

/// Parses and normalises an endpoint override; `None` when it is not an http(s) URL.
pub fn normalise(raw: &str) -> Option<Url> {
    let url = Url::parse(raw.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.has_host()).then_some(url)
}

/// The text adapters append their paths to: the normalised URL without a trailing slash.
pub fn base_text(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}
