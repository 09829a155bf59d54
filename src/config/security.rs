//! The security-related part of [`Config`]: secret lengths, the per-IP auth limit and the
//! trusted reverse proxies.

use anyhow::{Context, bail};

use super::Config;

/// The shortest accepted `JWT_SECRET`, `JWT_SECRET_PREV` and `INTERNAL_API_KEY`.
pub const MIN_SECRET_LEN: usize = 16;

impl Config {
    /// Checks what must hold however the configuration was built: every secret is at least
    /// [`MIN_SECRET_LEN`] characters. Start-up calls it; the error names the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (key, secret) in [
            ("JWT_SECRET", &self.jwt_secret),
            ("JWT_SECRET_PREV", &self.jwt_secret_prev),
            ("INTERNAL_API_KEY", &self.internal_api_key),
        ] {
            if let Some(s) = secret
                && s.expose().chars().count() < MIN_SECRET_LEN
            {
                bail!("{key}: must be at least {MIN_SECRET_LEN} characters");
            }
        }
        Ok(())
    }

    /// The per-IP auth limit and the trusted proxies.
    pub(super) fn apply_auth_env(
        &mut self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<()> {
        const AUTH_LIMIT: &str = "ASTRA_LIMITS_AUTH_PER_MINUTE";
        if let Some(v) = self.file.limits.get("authPerMinute") {
            self.auth_per_minute = v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .context("astra.yml limits.authPerMinute: expected a non-negative integer")?;
        }
        if let Some(v) = env(AUTH_LIMIT) {
            self.auth_per_minute = v
                .trim()
                .parse()
                .with_context(|| format!("{AUTH_LIMIT}: expected a non-negative integer"))?;
        }
        if let Some(v) = env("ASTRA_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(str::parse)
                .collect::<Result<_, String>>()
                .map_err(|e| anyhow::anyhow!("ASTRA_TRUSTED_PROXIES: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(key: &'static str, value: &'static str) -> anyhow::Result<Config> {
        Config::from_lookup(&move |k| (k == key).then(|| value.to_string()))
    }

    #[test]
    fn short_secrets_stop_start_up_naming_the_key() {
        for key in ["JWT_SECRET", "JWT_SECRET_PREV", "INTERNAL_API_KEY"] {
            let err = with(key, "too-short").expect_err(key);
            assert!(err.to_string().starts_with(key), "{err}");
            assert!(with(key, "long-enough-secret-123").is_ok());
        }
    }

    #[test]
    fn auth_limit_and_proxies_parse() {
        let cfg = Config::from_lookup(&|k| match k {
            "ASTRA_LIMITS_AUTH_PER_MINUTE" => Some("5".into()),
            "ASTRA_TRUSTED_PROXIES" => Some("10.0.0.0/8, ::1".into()),
            _ => None,
        })
        .expect("config");
        assert_eq!(cfg.auth_per_minute, 5);
        assert_eq!(cfg.trusted_proxies.len(), 2);
        assert_eq!(Config::default().auth_per_minute, 20);
        let err = with("ASTRA_TRUSTED_PROXIES", "10.0.0.0/40").expect_err("bad cidr");
        assert!(
            err.to_string().starts_with("ASTRA_TRUSTED_PROXIES"),
            "{err}"
        );
        let err = with("ASTRA_LIMITS_AUTH_PER_MINUTE", "-1").expect_err("bad limit");
        assert!(
            err.to_string().starts_with("ASTRA_LIMITS_AUTH_PER_MINUTE"),
            "{err}"
        );
    }
}
