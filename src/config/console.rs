//! Where the web console is served (`ASTRA_CONSOLE_PATH`, environment only).

use anyhow::bail;

/// The path prefix of the embedded web console, or `None` when it is switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// `/console` by default; `ASTRA_CONSOLE_PATH=off` (or empty) serves no console.
    pub path: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            path: Some("/console".into()),
        }
    }
}

impl ConsoleConfig {
    /// Reads `ASTRA_CONSOLE_PATH`: `off`/empty, or an absolute path of letters, digits, `-`,
    /// `_` and `/` segments, without a trailing slash and not `/`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let Some(raw) = env("ASTRA_CONSOLE_PATH") else {
            return Ok(Self::default());
        };
        let v = raw.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("off") {
            return Ok(Self { path: None });
        }
        let ok_chars = v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
        if !v.starts_with('/') || v.ends_with('/') || v.contains("//") || !ok_chars {
            bail!("ASTRA_CONSOLE_PATH: expected a path such as /console (or off)");
        }
        Ok(Self {
            path: Some(v.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: &str) -> anyhow::Result<ConsoleConfig> {
        let v = v.to_string();
        ConsoleConfig::from_env(&move |k| (k == "ASTRA_CONSOLE_PATH").then(|| v.clone()))
    }

    #[test]
    fn prefix_is_validated_and_can_be_switched_off() {
        assert_eq!(
            read("/ui/console").unwrap().path.as_deref(),
            Some("/ui/console")
        );
        assert_eq!(read("off").unwrap().path, None);
        assert!(read("console").is_err());
        assert!(read("/console/").is_err());
        assert!(read("/").is_err());
        assert!(read("/a b").is_err());
        assert_eq!(
            ConsoleConfig::from_env(&|_| None).unwrap().path.as_deref(),
            Some("/console")
        );
    }
}
