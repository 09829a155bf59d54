//! Outbound URL guard shared by tools, webhooks, monitors and jobs.
//!
//! Every URL a user can influence goes through two checks: [`parse_outbound_url`]
//! (scheme and host) and [`check_url`] (literal IP hosts), and is then sent with a
//! [`guarded_client`], whose DNS resolver and redirect policy refuse internal
//! addresses at connection time. Both layers are needed: reqwest does not call the
//! resolver for literal IP hosts, and a public host may redirect or resolve to an
//! internal one.

mod classify;
mod client;

use std::net::IpAddr;

pub use classify::{BlockReason, blocked_reason};
pub use client::{MAX_REDIRECTS, guarded_builder, guarded_client};
use reqwest::Url;

/// Why an outbound URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The text is not an absolute URL.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// Only `http` and `https` may leave the gateway.
    #[error("unsupported URL scheme '{0}' (only http and https are allowed)")]
    UnsupportedScheme(String),
    /// The URL has no host part.
    #[error("URL has no host")]
    MissingHost,
    /// The host is or resolves to an address outbound requests must not reach.
    #[error("destination {host} is not allowed: {reason}")]
    Blocked {
        /// The host name or address as written.
        host: String,
        /// Which class of address it is.
        reason: BlockReason,
    },
    /// The host resolved to no address at all.
    #[error("host {0} did not resolve to any address")]
    Unresolved(String),
    /// A redirect chain was longer than [`MAX_REDIRECTS`].
    #[error("too many redirects (more than {MAX_REDIRECTS})")]
    TooManyRedirects,
    /// The HTTP client could not be built (TLS initialisation).
    #[error("HTTP client could not be built: {0}")]
    Client(String),
}

/// Parses an outbound URL: absolute, `http` or `https`, with a host.
///
/// This is the syntactic half of the guard; pair it with [`check_url`].
pub fn parse_outbound_url(s: &str) -> Result<Url, GuardError> {
    let url = Url::parse(s.trim()).map_err(|e| GuardError::InvalidUrl(e.to_string()))?;
    check_scheme_and_host(&url)?;
    Ok(url)
}

/// Checks scheme and host of an already parsed URL and, unless `allow_private`,
/// refuses hosts that are internal IP literals or `localhost` names.
///
/// Host names are otherwise checked later by the guarded resolver, which sees
/// the addresses they really resolve to.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), GuardError> {
    check_scheme_and_host(url)?;
    if allow_private {
        return Ok(());
    }
    let host_text = url.host_str().unwrap_or_default().to_string();
    // `Url` already normalises odd IPv4 spellings (`2130706433`, `0x7f.1`) to
    // dotted form and brackets IPv6, so parsing the host text is enough.
    let bare = host_text.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = bare.parse::<IpAddr>() else {
        // Refused by name too, so the error is clear and does not depend on
        // how the local resolver treats `localhost`.
        let name = bare.trim_end_matches('.').to_ascii_lowercase();
        if name == "localhost" || name.ends_with(".localhost") {
            return Err(GuardError::Blocked {
                host: host_text,
                reason: BlockReason::Loopback,
            });
        }
        return Ok(());
    };
    match blocked_reason(ip) {
        Some(reason) => Err(GuardError::Blocked {
            host: host_text,
            reason,
        }),
        None => Ok(()),
    }
}

fn check_scheme_and_host(url: &Url) -> Result<(), GuardError> {
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(GuardError::UnsupportedScheme(other.to_string())),
    }
    match url.host_str() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err(GuardError::MissingHost),
    }
}

/// Finds a [`GuardError`] anywhere in an error's source chain, which is where
/// reqwest puts the resolver's or redirect policy's refusal.
pub fn find_guard_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a GuardError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(guard) = e.downcast_ref::<GuardError>() {
            return Some(guard);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_http_and_https_only() {
        assert!(parse_outbound_url("https://example.com/a?b=1").is_ok());
        assert!(parse_outbound_url(" http://example.com ").is_ok());
        assert_eq!(
            parse_outbound_url("ftp://example.com"),
            Err(GuardError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            parse_outbound_url("file:///etc/passwd"),
            Err(GuardError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            parse_outbound_url("not a url"),
            Err(GuardError::InvalidUrl(_))
        ));
        assert!(matches!(
            parse_outbound_url("/relative"),
            Err(GuardError::InvalidUrl(_))
        ));
    }

    #[test]
    fn check_refuses_internal_literals_and_localhost() {
        for s in [
            "http://127.0.0.1:8080/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://localhost:3000/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            let url = parse_outbound_url(s).unwrap();
            assert!(
                matches!(check_url(&url, false), Err(GuardError::Blocked { .. })),
                "{s} should be blocked"
            );
            assert!(
                check_url(&url, true).is_ok(),
                "{s} allowed when private is on"
            );
        }
    }

    #[test]
    fn check_passes_public_literals_and_names() {
        for s in [
            "https://93.184.216.34/",
            "https://example.com/",
            "http://[2606:4700::1111]/",
        ] {
            let url = parse_outbound_url(s).unwrap();
            assert!(check_url(&url, false).is_ok(), "{s}");
        }
    }
}
