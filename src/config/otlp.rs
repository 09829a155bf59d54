//! The OTLP trace exporter's settings (`ASTRA_OTLP_*`, environment only): where finished
//! turns are sent as OTLP/HTTP JSON, with which headers, and how they are batched.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{
    Url,
    header::{HeaderName, HeaderValue},
};

use super::Secret;

/// Path of the traces signal under an OTLP/HTTP base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Exporter settings; off unless `endpoint` is set.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// Full URL spans are POSTed to: `ASTRA_OTLP_ENDPOINT` (an OTLP/HTTP base such as
    /// `http://collector:4318`) plus `/v1/traces` (kept when already there). `None` = off.
    pub endpoint: Option<Url>,
    /// Extra request headers (`ASTRA_OTLP_HEADERS`, `k=v,k2=v2`); values are often
    /// credentials, so they are masked in `Debug`.
    pub headers: Vec<(String, Secret)>,
    /// A batch is sent once it holds this many spans (`ASTRA_OTLP_BATCH_SPANS`, 256).
    pub batch_spans: usize,
    /// ... or once its oldest span waited this long (`ASTRA_OTLP_FLUSH_MS`, 2000).
    pub flush_interval: Duration,
    /// Finished turns waiting for the batcher (`ASTRA_OTLP_QUEUE_SIZE`, 1024); a turn finishing
    /// when the queue is full is dropped and counted.
    pub queue_turns: usize,
    /// Time limit of one export request (`ASTRA_OTLP_TIMEOUT_MS`, 10 000).
    pub timeout: Duration,
}

impl Default for OtlpConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            headers: Vec::new(),
            batch_spans: 256,
            flush_interval: Duration::from_secs(2),
            queue_turns: 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

impl OtlpConfig {
    /// Reads the settings from an environment lookup; a bad value names its key.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut cfg = Self::default();
        let positive = |key: &str| super::positive_env(env, key);
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        if let Some(v) = env("ASTRA_OTLP_ENDPOINT") {
            cfg.endpoint = Some(traces_url(&v).context("ASTRA_OTLP_ENDPOINT")?);
        }
        if let Some(v) = env("ASTRA_OTLP_HEADERS") {
            cfg.headers = parse_headers(&v).context("ASTRA_OTLP_HEADERS")?;
        }
        if let Some(n) = positive("ASTRA_OTLP_BATCH_SPANS")? {
            cfg.batch_spans = size(n);
        }
        if let Some(ms) = positive("ASTRA_OTLP_FLUSH_MS")? {
            cfg.flush_interval = Duration::from_millis(ms);
        }
        if let Some(n) = positive("ASTRA_OTLP_QUEUE_SIZE")? {
            cfg.queue_turns = size(n);
        }
        if let Some(ms) = positive("ASTRA_OTLP_TIMEOUT_MS")? {
            cfg.timeout = Duration::from_millis(ms);
        }
        Ok(cfg)
    }
}

/// The traces URL of an OTLP/HTTP base URL: `http(s)`, with a host; `/v1/traces` appended
/// unless the path already ends with it (a signal-specific URL, as OpenTelemetry SDKs accept).
pub fn traces_url(base: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(base.trim()).context("expected an http(s) URL")?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("expected an http(s) URL with a host");
    }
    if !url.path().ends_with(TRACES_PATH) {
        let path = format!("{}{TRACES_PATH}", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    Ok(url)
}

/// `k=v,k2=v2`: names and values trimmed, a value may itself contain `=` (split at the
/// first one); both must be valid HTTP header parts.
pub fn parse_headers(text: &str) -> anyhow::Result<Vec<(String, Secret)>> {
    let mut headers = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            bail!("expected name=value pairs separated by commas");
        };
        let (name, value) = (name.trim(), value.trim());
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| anyhow::anyhow!("{name:?} is not a valid header name"))?;
        HeaderValue::from_str(value)
            .map_err(|_| anyhow::anyhow!("the value of {name} is not a valid header value"))?;
        headers.push((name.to_ascii_lowercase(), Secret::new(value)));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_the_traces_path_once() {
        let url = |s: &str| traces_url(s).unwrap().to_string();
        assert_eq!(
            url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            url("https://c.example/otlp/"),
            "https://c.example/otlp/v1/traces"
        );
        assert_eq!(url("http://c:4318/v1/traces"), "http://c:4318/v1/traces");
        assert!(traces_url("ftp://c").is_err() && traces_url("collector:4318").is_err());
    }

    #[test]
    fn headers_are_pairs_and_values_may_hold_equals() {
        let h = parse_headers(" Authorization=Basic YWJj== , x-team = ops ").unwrap();
        let flat: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.expose())).collect();
        assert_eq!(flat, [("authorization", "Basic YWJj=="), ("x-team", "ops")]);
        assert!(parse_headers("novalue").is_err());
        assert!(parse_headers("bad name=v").is_err());
    }

    #[test]
    fn bad_values_name_the_key() {
        let env = |k: &str| (k == "ASTRA_OTLP_BATCH_SPANS").then(|| "0".to_string());
        let err = OtlpConfig::from_env(&env).unwrap_err();
        assert!(
            err.to_string().starts_with("ASTRA_OTLP_BATCH_SPANS"),
            "{err}"
        );
        let env = |k: &str| (k == "ASTRA_OTLP_ENDPOINT").then(|| "nope".to_string());
        let err = OtlpConfig::from_env(&env).unwrap_err();
        assert!(err.to_string().starts_with("ASTRA_OTLP_ENDPOINT"), "{err}");
        assert!(
            OtlpConfig::from_env(&|_: &str| None)
                .unwrap()
                .endpoint
                .is_none()
        );
    }
}
