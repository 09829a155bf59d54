//! The client's IP address for per-IP limits.
//!
//! The socket peer, unless the peer is one of `ASTRA_TRUSTED_PROXIES`: then `X-Forwarded-For`
//! is walked from the right, skipping trusted hops, and the first address a trusted proxy did
//! not vouch for is the client. Entries left of it were written by the client and prove
//! nothing, so spoofing them cannot pick a fresh rate-limit bucket.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use crate::{
    app::AppState,
    config::{Cidr, canonical_ip},
    error::ApiError,
};

/// The resolved client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// Resolves the client of a request; `None` when the server did not record the peer.
    pub fn of(parts: &Parts, trusted: &[Cidr]) -> Option<Self> {
        let ConnectInfo(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>()?;
        Some(Self(resolve(peer.ip(), &parts.headers, trusted)))
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Self::of(parts, &state.config.trusted_proxies).ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "the server was started without connect info"
            ))
        })
    }
}

/// The client address behind `peer`, believing `X-Forwarded-For` only from trusted proxies.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical_ip(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    // Several header lines form one list, in order.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        // An unreadable entry ends the walk: the last trusted hop is all we know.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical_ip(ip));
    }
    hop.parse::<SocketAddr>().ok().map(|s| canonical_ip(s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().expect("header"));
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().expect("cidr")];
        let h = headers("6.6.6.6, 1.2.3.4, 10.0.0.2");
        assert_eq!(resolve(ip("9.9.9.9"), &h, &trusted), ip("9.9.9.9"));
        assert_eq!(resolve(ip("10.0.0.1"), &h, &trusted), ip("1.2.3.4"));
        assert_eq!(resolve(ip("10.0.0.1"), &h, &[]), ip("10.0.0.1"));
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers("10.0.0.3"), &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers("junk, 1.2.3.4:80"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers("1.2.3.4, junk"), &trusted),
            ip("10.0.0.1")
        );
        assert_eq!(
            resolve(
                ip("::ffff:10.0.0.1"),
                &headers("[2001:db8::1]:443"),
                &trusted
            ),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
    }
}
