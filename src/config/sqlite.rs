//! `ASTRA_SQLITE_SYNCHRONOUS` (or `settings.sqliteSynchronous` in `astra.yml`): how hard SQLite
//! syncs to disk, applied on every connection of the pool. The database runs in WAL mode, where
//! the modes cost this on a power loss or an OS crash (a process crash alone loses nothing
//! committed in any mode):
//!
//! - `OFF`: no syncs; recent transactions may be lost and the file may be corrupted.
//! - `NORMAL`: the WAL is synced at checkpoints only; the last transactions before the loss may
//!   be rolled back, the database stays consistent.
//! - `FULL` (default): the WAL is synced at every commit; a committed transaction survives.
//! - `EXTRA`: as `FULL` here (its extra directory sync concerns rollback journals, not WAL).

use anyhow::bail;

/// SQLite's `PRAGMA synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// `OFF` (0).
    Off,
    /// `NORMAL` (1).
    Normal,
    /// `FULL` (2), the default: durable after commit.
    #[default]
    Full,
    /// `EXTRA` (3).
    Extra,
}

impl SqliteSync {
    /// Parses `OFF|NORMAL|FULL|EXTRA` (any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_uppercase().as_str() {
            "OFF" => Some(Self::Off),
            "NORMAL" => Some(Self::Normal),
            "FULL" => Some(Self::Full),
            "EXTRA" => Some(Self::Extra),
            _ => None,
        }
    }

    /// The name, as the pragma takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Normal => "NORMAL",
            Self::Full => "FULL",
            Self::Extra => "EXTRA",
        }
    }

    /// The number `PRAGMA synchronous` answers for this mode.
    pub fn pragma_value(self) -> i64 {
        match self {
            Self::Off => 0,
            Self::Normal => 1,
            Self::Full => 2,
            Self::Extra => 3,
        }
    }

    /// Resolves the mode: the environment over the file's `settings.sqliteSynchronous`, else
    /// [`SqliteSync::Full`]; an unknown value stops start-up naming where it came from.
    pub(super) fn resolve(
        file: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let (key, value) = match (env("ASTRA_SQLITE_SYNCHRONOUS"), file) {
            (Some(v), _) => ("ASTRA_SQLITE_SYNCHRONOUS", v),
            (None, Some(v)) => ("astra.yml settings.sqliteSynchronous", v.to_string()),
            (None, None) => return Ok(Self::default()),
        };
        match Self::parse(&value) {
            Some(mode) => Ok(mode),
            None => bail!("{key}: expected OFF, NORMAL, FULL or EXTRA, got {value:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_the_file_and_full_is_the_default() {
        let none = |_: &str| None;
        assert_eq!(SqliteSync::resolve(None, &none).unwrap(), SqliteSync::Full);
        assert_eq!(
            SqliteSync::resolve(Some("normal"), &none).unwrap(),
            SqliteSync::Normal
        );
        let env = |k: &str| (k == "ASTRA_SQLITE_SYNCHRONOUS").then(|| "Extra".to_string());
        assert_eq!(
            SqliteSync::resolve(Some("OFF"), &env).unwrap(),
            SqliteSync::Extra
        );
    }

    #[test]
    fn a_bad_value_stops_start_up() {
        let env = |k: &str| (k == "ASTRA_SQLITE_SYNCHRONOUS").then(|| "sometimes".to_string());
        let err = crate::config::Config::from_lookup(&env)
            .expect_err("bad mode")
            .to_string();
        assert!(err.starts_with("ASTRA_SQLITE_SYNCHRONOUS"), "{err}");
    }

    #[test]
    fn unknown_values_name_their_key() {
        let env = |k: &str| (k == "ASTRA_SQLITE_SYNCHRONOUS").then(|| "fast".to_string());
        let err = SqliteSync::resolve(None, &env).unwrap_err().to_string();
        assert!(err.starts_with("ASTRA_SQLITE_SYNCHRONOUS:"), "{err}");
        let err = SqliteSync::resolve(Some("2"), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("settings.sqliteSynchronous"), "{err}");
    }
}
