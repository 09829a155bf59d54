//! `ASTRA_METRICS_TOKEN`: the bearer token a Prometheus scraper presents on
//! `/metrics/prometheus`, so it needs neither a user account nor the internal key.

use anyhow::bail;

use super::{MIN_SECRET_LEN, Secret};

/// Reads `ASTRA_METRICS_TOKEN`; when set it must be at least [`MIN_SECRET_LEN`] characters.
pub(super) fn metrics_token(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Secret>> {
    let Some(token) = env("ASTRA_METRICS_TOKEN") else {
        return Ok(None);
    };
    if token.chars().count() < MIN_SECRET_LEN {
        bail!("ASTRA_METRICS_TOKEN: must be at least {MIN_SECRET_LEN} characters");
    }
    Ok(Some(Secret::new(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tokens_are_refused() {
        let short = |_: &str| Some("short".to_string());
        assert!(metrics_token(&short).is_err());
        let long = |_: &str| Some("a-long-enough-metrics-token".to_string());
        assert!(metrics_token(&long).is_ok_and(|t| t.is_some()));
        assert!(metrics_token(&|_: &str| None).is_ok_and(|t| t.is_none()));
    }
}
