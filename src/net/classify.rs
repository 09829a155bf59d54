//! Classification of IP addresses that outbound requests must never reach.
//!
//! Kept free of I/O so the rules can be tested exhaustively and reused by the
//! resolver, the redirect policy and the literal-IP check alike.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused as an outbound destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// `0.0.0.0/8` or `::`.
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918 ranges and IPv6 unique-local `fc00::/7`.
    Private,
    /// `169.254.0.0/16` (cloud metadata lives here) or `fe80::/10`.
    LinkLocal,
    /// Carrier-grade NAT `100.64.0.0/10`.
    SharedAddressSpace,
    /// Multicast ranges and the limited broadcast address.
    Multicast,
    /// Documentation, benchmarking, protocol-assignment and future-use ranges.
    Reserved,
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Unspecified => "unspecified address",
            Self::Loopback => "loopback address",
            Self::Private => "private address",
            Self::LinkLocal => "link-local address",
            Self::SharedAddressSpace => "shared (CGNAT) address",
            Self::Multicast => "multicast or broadcast address",
            Self::Reserved => "reserved address",
        };
        f.write_str(text)
    }
}

/// Returns why `ip` must not be contacted, or `None` when it is a public address.
pub fn blocked_reason(ip: IpAddr) -> Option<BlockReason> {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> Option<BlockReason> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, _, _) => BlockReason::Unspecified,
        (127, _, _) => BlockReason::Loopback,
        (10, _, _) => BlockReason::Private,
        (172, 16..=31, _) => BlockReason::Private,
        (192, 168, _) => BlockReason::Private,
        (169, 254, _) => BlockReason::LinkLocal,
        (100, 64..=127, _) => BlockReason::SharedAddressSpace,
        (224..=239, _, _) => BlockReason::Multicast,
        _ if ip.is_broadcast() => BlockReason::Multicast,
        (240..=255, _, _) => BlockReason::Reserved,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => BlockReason::Reserved,
        (198, 18..=19, _) => BlockReason::Reserved,
        _ => return None,
    };
    Some(reason)
}

fn blocked_v6(ip: Ipv6Addr) -> Option<BlockReason> {
    // Addresses that carry an IPv4 address must be judged by that address,
    // otherwise `::ffff:127.0.0.1` would reach loopback.
    if let Some(v4) = embedded_v4(ip) {
        return blocked_v4(v4);
    }
    let seg = ip.segments();
    let reason = if ip.is_unspecified() {
        BlockReason::Unspecified
    } else if ip.is_loopback() {
        BlockReason::Loopback
    } else if seg[0] & 0xfe00 == 0xfc00 {
        BlockReason::Private
    } else if seg[0] & 0xffc0 == 0xfe80 {
        BlockReason::LinkLocal
    } else if seg[0] & 0xffc0 == 0xfec0 {
        // Deprecated site-local space is still routed internally by some networks.
        BlockReason::Private
    } else if seg[0] & 0xff00 == 0xff00 {
        BlockReason::Multicast
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        BlockReason::Reserved
    } else {
        return None;
    };
    Some(reason)
}

/// Extracts an IPv4 address from the IPv6 forms that tunnel one:
/// IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match seg {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // `::` and `::1` are not IPv4-compatible addresses; leave them to the v6 rules.
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, _, _, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<BlockReason> {
        blocked_reason(s.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.167.1.1",
            "223.255.255.254",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(reason(ip), None, "{ip} should be public");
        }
    }

    #[test]
    fn loopback_and_unspecified_refused() {
        for ip in ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(reason(ip), Some(BlockReason::Loopback), "{ip}");
        }
        for ip in ["0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"] {
            assert_eq!(reason(ip), Some(BlockReason::Unspecified), "{ip}");
        }
    }

    #[test]
    fn private_ranges_refused() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "fc00::1",
            "fd12:3456:789a::1",
            "fec0::1",
            "::ffff:10.0.0.1",
            "::ffff:192.168.1.1",
            "::ffff:ac10:0001",
            "64:ff9b::a00:1",
            "2002:c0a8:0101::1",
        ] {
            assert_eq!(reason(ip), Some(BlockReason::Private), "{ip}");
        }
    }

    #[test]
    fn link_local_and_metadata_refused() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "febf::1",
            "::ffff:169.254.169.254",
        ] {
            assert_eq!(reason(ip), Some(BlockReason::LinkLocal), "{ip}");
        }
    }

    #[test]
    fn cgnat_multicast_broadcast_reserved_refused() {
        assert_eq!(reason("100.64.0.1"), Some(BlockReason::SharedAddressSpace));
        assert_eq!(
            reason("100.127.255.255"),
            Some(BlockReason::SharedAddressSpace)
        );
        for ip in [
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "ff02::1",
            "ff05::2",
        ] {
            assert_eq!(reason(ip), Some(BlockReason::Multicast), "{ip}");
        }
        for ip in [
            "240.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "2001:db8::1",
        ] {
            assert_eq!(reason(ip), Some(BlockReason::Reserved), "{ip}");
        }
    }

    #[test]
    fn ipv4_compatible_form_is_judged_by_its_v4_address() {
        assert_eq!(reason("::127.0.0.1"), Some(BlockReason::Loopback));
        assert_eq!(reason("::8.8.8.8"), None);
    }
}
