//! Settings of the built-in tools, read from the environment (re-exported by `tools`; they
//! live here so the configuration imports no feature module).

use std::fmt;
use std::time::Duration;

use reqwest::Url;

/// Default Brave Search endpoint; overridable so tests can point at a fake.
const BRAVE_DEFAULT_ENDPOINT: &str = "https://api.search.brave.com/res/v1/web/search";

/// Settings shared by the built-in tools. The default is the secure one:
/// private URLs refused, no web search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolsConfig {
    /// Lets tools reach loopback and private addresses (`ASTRA_ALLOW_PRIVATE_URLS`).
    pub allow_private_urls: bool,
    /// Search backend; `None` leaves `web_search` registered but not offered.
    pub web_search: Option<WebSearchConfig>,
    /// Limits for `fetch_page` and `http_request`.
    pub fetch: FetchLimits,
}

/// Size and time limits of outbound tool requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Response bytes read at most; the rest is dropped and `truncated` set
    /// (`ASTRA_TOOLS_FETCH_MAX_BYTES`, default 2 MiB).
    pub max_bytes: usize,
    /// Whole-request time limit (`ASTRA_TOOLS_FETCH_TIMEOUT_MS`, default 15 s).
    pub timeout: Duration,
    /// Characters of text returned when the call does not say
    /// (`ASTRA_TOOLS_FETCH_MAX_CHARS`, default 20 000).
    pub default_max_chars: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 * 1024 * 1024,
            timeout: Duration::from_secs(15),
            default_max_chars: 20_000,
        }
    }
}

/// Which search service `web_search` calls.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSearchConfig {
    /// The backend and its address.
    pub backend: SearchBackend,
}

/// A web search backend.
#[derive(Clone, PartialEq)]
pub enum SearchBackend {
    /// A SearXNG instance; queried at `{base_url}/search?format=json&q=…`.
    Searxng {
        /// Instance root, e.g. `http://searxng:8080`.
        base_url: Url,
    },
    /// The Brave Search API.
    Brave {
        /// API endpoint (`ASTRA_WEB_SEARCH_URL` overrides the public one).
        endpoint: Url,
        /// Subscription token (`BRAVE_API_KEY`).
        api_key: String,
    },
}

impl fmt::Debug for SearchBackend {
    // Hand-written so the API key never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Searxng { base_url } => f
                .debug_struct("Searxng")
                .field("base_url", &base_url.as_str())
                .finish(),
            Self::Brave { endpoint, .. } => f
                .debug_struct("Brave")
                .field("endpoint", &endpoint.as_str())
                .field("api_key", &"***")
                .finish(),
        }
    }
}

/// A tools setting in the environment has an unusable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ToolsConfigError {
    /// The variable's name.
    pub name: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ToolsConfig {
    /// Reads the settings through `lookup` (the environment in production, a
    /// map in tests). Empty values count as unset.
    pub fn from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ToolsConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let defaults = FetchLimits::default();
        let fetch = FetchLimits {
            max_bytes: number(&get, "ASTRA_TOOLS_FETCH_MAX_BYTES")?.unwrap_or(defaults.max_bytes),
            timeout: number(&get, "ASTRA_TOOLS_FETCH_TIMEOUT_MS")?
                .map(|ms| Duration::from_millis(ms as u64))
                .unwrap_or(defaults.timeout),
            default_max_chars: number(&get, "ASTRA_TOOLS_FETCH_MAX_CHARS")?
                .unwrap_or(defaults.default_max_chars),
        };
        Ok(Self {
            allow_private_urls: flag(&get, "ASTRA_ALLOW_PRIVATE_URLS")?,
            web_search: web_search(&get)?,
            fetch,
        })
    }
}

fn flag(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<bool, ToolsConfigError> {
    match get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no" | "off") => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some(other) => Err(ToolsConfigError {
            name,
            message: format!("expected true or false, got '{other}'"),
        }),
    }
}

fn number(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<usize>, ToolsConfigError> {
    let Some(raw) = get(name) else {
        return Ok(None);
    };
    match raw.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ToolsConfigError {
            name,
            message: format!("expected a positive integer, got '{raw}'"),
        }),
    }
}

fn url(raw: &str, name: &'static str) -> Result<Url, ToolsConfigError> {
    let parsed = Url::parse(raw.trim()).map_err(|e| ToolsConfigError {
        name,
        message: e.to_string(),
    })?;
    match parsed.scheme() {
        "http" | "https" => Ok(parsed),
        other => Err(ToolsConfigError {
            name,
            message: format!("unsupported scheme '{other}'"),
        }),
    }
}

/// Picks the backend: an explicit `ASTRA_WEB_SEARCH_PROVIDER` wins; otherwise a
/// URL means SearXNG and a Brave key alone means Brave.
fn web_search(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<WebSearchConfig>, ToolsConfigError> {
    const PROVIDER: &str = "ASTRA_WEB_SEARCH_PROVIDER";
    const URL: &str = "ASTRA_WEB_SEARCH_URL";
    const KEY: &str = "BRAVE_API_KEY";
    let provider = get(PROVIDER).map(|p| p.trim().to_ascii_lowercase());
    let provider = match provider.as_deref() {
        Some(p) => p.to_string(),
        None if get(URL).is_some() => "searxng".to_string(),
        None if get(KEY).is_some() => "brave".to_string(),
        None => return Ok(None),
    };
    let backend = match provider.as_str() {
        "searxng" => {
            let raw = get(URL).ok_or(ToolsConfigError {
                name: URL,
                message: "required when the search provider is searxng".into(),
            })?;
            SearchBackend::Searxng {
                base_url: url(&raw, URL)?,
            }
        }
        "brave" => {
            let api_key = get(KEY).ok_or(ToolsConfigError {
                name: KEY,
                message: "required when the search provider is brave".into(),
            })?;
            let endpoint = match get(URL) {
                Some(raw) => url(&raw, URL)?,
                None => url(BRAVE_DEFAULT_ENDPOINT, URL)?,
            };
            SearchBackend::Brave { endpoint, api_key }
        }
        "none" | "off" => return Ok(None),
        other => {
            return Err(ToolsConfigError {
                name: PROVIDER,
                message: format!("unknown provider '{other}' (searxng, brave or none)"),
            });
        }
    };
    Ok(Some(WebSearchConfig { backend }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<ToolsConfig, ToolsConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ToolsConfig::from_env(&|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_unset() {
        let cfg = config(&[]).unwrap();
        assert_eq!(cfg, ToolsConfig::default());
    }

    #[test]
    fn searxng_from_url_and_brave_from_key() {
        let cfg = config(&[("ASTRA_WEB_SEARCH_URL", "http://searx:8080")]).unwrap();
        assert!(matches!(
            cfg.web_search.unwrap().backend,
            SearchBackend::Searxng { .. }
        ));
        let cfg = config(&[("BRAVE_API_KEY", "secret-key")]).unwrap();
        let backend = cfg.web_search.unwrap().backend;
        assert!(!format!("{backend:?}").contains("secret-key"));
        match backend {
            SearchBackend::Brave { endpoint, .. } => {
                assert_eq!(endpoint.as_str(), BRAVE_DEFAULT_ENDPOINT)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("ASTRA_WEB_SEARCH_PROVIDER", "bing")]).unwrap_err();
        assert_eq!(err.name, "ASTRA_WEB_SEARCH_PROVIDER");
        let err = config(&[("ASTRA_WEB_SEARCH_PROVIDER", "brave")]).unwrap_err();
        assert_eq!(err.name, "BRAVE_API_KEY");
        let err = config(&[("ASTRA_ALLOW_PRIVATE_URLS", "maybe")]).unwrap_err();
        assert_eq!(err.name, "ASTRA_ALLOW_PRIVATE_URLS");
        let err = config(&[("ASTRA_TOOLS_FETCH_MAX_BYTES", "-1")]).unwrap_err();
        assert_eq!(err.name, "ASTRA_TOOLS_FETCH_MAX_BYTES");
    }

    #[test]
    fn limits_and_flag_are_read() {
        let cfg = config(&[
            ("ASTRA_ALLOW_PRIVATE_URLS", "true"),
            ("ASTRA_TOOLS_FETCH_MAX_BYTES", "1000"),
            ("ASTRA_TOOLS_FETCH_TIMEOUT_MS", "250"),
        ])
        .unwrap();
        assert!(cfg.allow_private_urls);
        assert_eq!(cfg.fetch.max_bytes, 1000);
        assert_eq!(cfg.fetch.timeout, Duration::from_millis(250));
    }
}
