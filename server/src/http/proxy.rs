//! Which address a request came from: the peer, or, when the peer is a
//! reverse proxy the config trusts, the client it names in `X-Forwarded-For`.
//!
//! The throttle and the audit log key on this address. Reading the header
//! from anyone would let a client name any address it likes, so it is read
//! only from `http.trusted_proxies`.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::Deserialize;

/// `http.trusted_proxies`: addresses (`10.0.0.5`) or networks (`10.0.0.0/24`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct TrustedProxies(Vec<Net>);

/// One address or network; a bare address is its own /32 or /128.
#[derive(Debug, Clone, Copy)]
struct Net(IpNet);

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Net::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Net {
    fn parse(s: &str) -> Result<Net, String> {
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(Net)
            .map_err(|_| format!("`{s}` is not an IP address or network (10.0.0.5, 10.0.0.0/24)"))
    }
}

impl TrustedProxies {
    pub fn new(nets: &[&str]) -> Result<TrustedProxies, String> {
        let nets = nets.iter().map(|s| Net::parse(s));
        nets.collect::<Result<_, _>>().map(TrustedProxies)
    }

    /// True if `ip` (IPv4-mapped IPv6 read as IPv4) is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.0.contains(&ip))
    }

    /// The client's address. `X-Forwarded-For` is read right to left, each
    /// hop trusted only while the one that added it is a trusted proxy, so a
    /// client cannot prepend addresses of its choosing.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            // Some proxies add the client's port: `1.2.3.4:5678`, `[::1]:80`.
            let parsed = hop
                .parse::<IpAddr>()
                .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|a| a.ip()));
            let Ok(ip) = parsed else {
                // Junk from a proxy we trust: stop at the last address known.
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `::ffff:10.0.0.5` is `10.0.0.5`: a dual-stack listener reports v4 peers so.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What a limit per address counts a peer as: an IPv4 address (IPv4-mapped
/// IPv6 too) as itself, an IPv6 address as its /64, since one host can
/// hold a whole /64.
pub fn host_network(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_is_read_only_from_a_trusted_proxy() {
        let p = TrustedProxies::new(&["10.0.0.1"]).unwrap();
        // From the proxy: its client.
        assert_eq!(
            p.client(ip("10.0.0.1"), &xff("192.168.5.7")),
            ip("192.168.5.7")
        );
        // From anyone else the header is the sender's word, and ignored.
        assert_eq!(
            p.client(ip("10.0.0.66"), &xff("192.168.5.7")),
            ip("10.0.0.66")
        );
        // With no proxy configured it is never read.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("10.0.0.1"), &xff("192.168.5.7")),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_client_cannot_prepend_an_address_of_its_choosing() {
        let p = TrustedProxies::new(&["10.0.0.0/24"]).unwrap();
        // The attacker sent `X-Forwarded-For: 1.2.3.4`; the proxy appended
        // the attacker's own address.
        let h = xff("1.2.3.4, 192.168.5.66");
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("192.168.5.66"));
        // Two trusted proxies in a row are both walked past.
        let h = xff("1.2.3.4, 192.168.5.66, 10.0.0.2");
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("192.168.5.66"));
        // Junk stops the walk at the last address known.
        let h = xff("192.168.5.66, not-an-ip");
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        // A hop with its port, as some proxies write it.
        let h = xff("192.168.5.66:51234");
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("192.168.5.66"));
        let h = xff("[2001:db8::7]:443");
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8::7"));
        // A v4 peer on a dual-stack socket.
        assert_eq!(
            p.client(ip("::ffff:10.0.0.1"), &xff("192.168.5.7")),
            ip("192.168.5.7")
        );
    }

    #[test]
    fn an_ipv6_peer_counts_by_its_64_and_a_mapped_ipv4_one_as_ipv4() {
        assert_eq!(host_network(ip("10.0.0.5")), ip("10.0.0.5"));
        assert_eq!(host_network(ip("::ffff:10.0.0.5")), ip("10.0.0.5"));
        let a = host_network(ip("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, ip("2001:db8:1:2::"));
        assert_eq!(host_network(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), a);
        assert_ne!(host_network(ip("2001:db8:1:3::1")), a);
    }

    #[test]
    fn a_typo_in_the_list_is_named() {
        let e = TrustedProxies::new(&["10.0.0.0/33"]).unwrap_err();
        assert!(e.contains("10.0.0.0/33"), "{e}");
        let parsed: Result<TrustedProxies, _> = yaml_serde::from_str("[10.0.0.1, nonsense]");
        assert!(parsed.unwrap_err().to_string().contains("nonsense"));
    }
}
