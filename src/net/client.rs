//! The guarded reqwest client: a filtering DNS resolver plus a redirect policy
//! that re-checks every hop.

use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

use super::{BlockReason, GuardError, blocked_reason, check_url};

/// Longest redirect chain a guarded client follows.
pub const MAX_REDIRECTS: usize = 5;

/// Resolves with the system resolver, then drops internal addresses.
///
/// Only the vetted addresses are handed to the connector, so a name that
/// resolves to both a public and an internal address can only reach the public
/// one, and a rebinding answer between check and connect is impossible because
/// check and connect use the same answer.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut allowed = Vec::new();
            let mut refused: Option<BlockReason> = None;
            for addr in resolved {
                match blocked_reason(addr.ip()) {
                    None => allowed.push(addr),
                    Some(reason) => {
                        refused.get_or_insert(reason);
                    }
                }
            }
            if allowed.is_empty() {
                let err = match refused {
                    Some(reason) => GuardError::Blocked { host, reason },
                    None => GuardError::Unresolved(host),
                };
                return Err(err.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Builds the client for user-influenced outbound requests.
///
/// Unless `allow_private` (config `ASTRA_ALLOW_PRIVATE_URLS`, tests), host names
/// resolving only to loopback, private, link-local, CGNAT, multicast or reserved
/// addresses are refused, and each redirect target is checked again (literal IP
/// hosts included, since the resolver is not consulted for them). At most
/// [`MAX_REDIRECTS`] redirects are followed either way. Environment proxies are
/// ignored, as a proxy would resolve names itself and bypass the guard.
///
/// Callers must still run [`check_url`] on the first URL for the same
/// literal-IP reason.
pub fn guarded_client(
    allow_private: bool,
    timeout: Duration,
) -> Result<reqwest::Client, GuardError> {
    guarded_builder(allow_private)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| GuardError::Client(e.to_string()))
}

/// The guarded client's builder without timeouts, for callers that bound their requests
/// differently (provider streams bound each read, not the whole response).
///
/// It has the guarded resolver (unless `allow_private`), no proxy, and the re-checking
/// redirect policy; a caller may replace the policy with a stricter one
/// (`Policy::none()`), never a looser one.
pub fn guarded_builder(allow_private: bool) -> reqwest::ClientBuilder {
    let policy = Policy::custom(move |attempt| {
        // `previous` starts with the original URL, so it holds one entry per hop taken.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(GuardError::TooManyRedirects);
        }
        match check_url(attempt.url(), allow_private) {
            Ok(()) => attempt.follow(),
            Err(err) => attempt.error(err),
        }
    });
    let mut builder = reqwest::Client::builder()
        .redirect(policy)
        .no_proxy()
        .user_agent(concat!("astra/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(GuardedResolver);
    }
    builder
}
