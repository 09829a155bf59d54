//! Which base URLs may receive the operator's provider credentials (`inference.allowedEndpoints`,
//! and each provider's configured base URL).
//!
//! The operator's keys go to a provider's configured base URL and to the base URLs listed in
//! `inference.allowedEndpoints`, nowhere else. A URL matches an entry when, after parsing
//! (which normalises case, default ports and `.`/`..` segments):
//! - scheme, host and effective port are equal, and
//! - the path equals the entry's path or continues it after a `/` (the entry
//!   `https://llm.corp/v1` matches `https://llm.corp/v1` and `https://llm.corp/v1/x`, not
//!   `https://llm.corp/v10` nor `https://llm.corp/`), and
//! - the URL has no user info, query or fragment.

use reqwest::Url;

use super::inference::InferenceConfigError;

/// A parsed base URL an operator trusts with its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedEndpoint(Url);

impl AllowedEndpoint {
    /// Parses an entry of `inference.allowedEndpoints`.
    pub fn parse(raw: &str) -> Result<Self, InferenceConfigError> {
        let bad = |why: &str| InferenceConfigError(format!("allowedEndpoints: {raw:?} {why}"));
        let url = Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(bad("must be an http(s) URL with a host"));
        }
        if has_extras(&url) {
            return Err(bad("must not carry user info, a query or a fragment"));
        }
        Ok(Self(url))
    }

    /// The entry as written after normalisation.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether `url` lies at or under this entry (see the module docs for the rule).
    pub fn matches(&self, url: &Url) -> bool {
        if has_extras(url)
            || url.scheme() != self.0.scheme()
            || url.host() != self.0.host()
            || url.port_or_known_default() != self.0.port_or_known_default()
        {
            return false;
        }
        let base = self.0.path().trim_end_matches('/');
        let path = url.path();
        path == base
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

fn has_extras(url: &Url) -> bool {
    !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, url: &str) -> bool {
        let entry = AllowedEndpoint::parse(entry).unwrap();
        Url::parse(url).is_ok_and(|u| entry.matches(&u))
    }

    #[test]
    fn matching_is_scheme_host_port_and_path_prefix() {
        let e = "https://llm.corp:443/v1/";
        assert!(allowed(e, "https://llm.corp/v1"));
        assert!(allowed(e, "https://LLM.corp/v1/chat"));
        assert!(allowed(e, "https://llm.corp/v2/../v1/x"));
        assert!(!allowed(e, "http://llm.corp/v1"));
        assert!(!allowed(e, "https://llm.corp:8443/v1"));
        assert!(!allowed(e, "https://llm.corp/v10"));
        assert!(!allowed(e, "https://llm.corp/"));
        assert!(!allowed(e, "https://llm.corp.evil.com/v1"));
        assert!(!allowed(e, "https://user:pw@llm.corp/v1"));
        assert!(!allowed(e, "https://llm.corp/v1?x=1"));
        assert!(allowed(
            "http://10.0.0.5:8000",
            "http://10.0.0.5:8000/anything"
        ));
    }

    #[test]
    fn entries_must_be_plain_http_urls() {
        assert!(AllowedEndpoint::parse("ftp://x").is_err());
        assert!(AllowedEndpoint::parse("https://a/?q").is_err());
        assert!(AllowedEndpoint::parse("nope").is_err());
    }
}
