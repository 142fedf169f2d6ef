//! The client's address, for the per-IP rate limits and sign-in throttling: the TCP
//! peer, unless the peer is one of `POOLGATE_TRUSTED_PROXIES`. Then the proxy's
//! `X-Forwarded-For` (else `Forwarded`, RFC 7239) names it: read from the right, the
//! first hop that is not itself a trusted proxy (hops left of it were written by the
//! client and prove nothing). A peer that is not trusted is the client whatever its
//! headers say, so a client cannot choose the address its budget is counted under.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The client's address as this module found it (a request extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The trusted proxies of one gateway.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` carrying `headers`.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        // From the right: the nearest hop a trusted proxy did not write is the client.
        // A hop that does not parse ends the walk at the last trusted one.
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = hop else {
                break;
            };
            client = *ip;
            if !self.contains(*ip) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address in IPv6 form (`::ffff:a.b.c.d`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops `X-Forwarded-For` lists (every such header, in order), or else the `for`
/// parameters of `Forwarded`; `None` for a hop that is not an address (`unknown`,
/// an obfuscated name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| {
            let text = v.to_str().unwrap_or("\u{0}");
            text.split(',')
                .map(|h| parse_hop(h.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|v| {
            let text = v.to_str().unwrap_or("");
            text.split(',')
                .filter_map(|element| {
                    let mut hop = None;
                    for pair in element.split(';') {
                        let (k, v) = pair.trim().split_once('=')?;
                        if k.trim().eq_ignore_ascii_case("for") {
                            hop = Some(parse_hop(v.trim().trim_matches('"')));
                        }
                    }
                    // An element without `for` says nothing about the client.
                    hop
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One hop: an address, with or without a port (`1.2.3.4:5`, `[2001:db8::1]:5`,
/// `[2001:db8::1]`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(canonical)
}

/// The middleware: marks each request with its [`ClientIp`] (requests without a peer
/// address, as in unit tests of the router, get none).
pub async fn attach(
    State(trusted): State<Arc<TrustedProxies>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let ip = trusted.client_of(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies(crate::config::parse_cidrs(list).unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let t = proxies("10.0.0.0/8");
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(t.client_of(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        assert_eq!(
            TrustedProxies::default().client_of(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_right_most_untrusted_hop() {
        let t = proxies("10.0.0.0/8, 192.0.2.7");
        // The client wrote `6.6.6.6` itself; the proxies appended what they saw.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.4, 192.0.2.7")]);
        assert_eq!(t.client_of(ip("10.1.2.3"), &h), ip("198.51.100.4"));
        // Several headers are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.4"),
        ]);
        assert_eq!(t.client_of(ip("10.1.2.3"), &h), ip("198.51.100.4"));
        // Every hop trusted: the left-most is the client.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 192.0.2.7")]);
        assert_eq!(t.client_of(ip("10.1.2.3"), &h), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(
            t.client_of(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
        // A hop that is not an address stops at the last trusted one.
        let h = headers(&[("x-forwarded-for", "198.51.100.4, garbage, 10.2.2.2")]);
        assert_eq!(t.client_of(ip("10.1.2.3"), &h), ip("10.2.2.2"));
        // An IPv4-mapped peer is its IPv4 address.
        assert_eq!(
            t.client_of(
                ip("::ffff:10.1.2.3"),
                &headers(&[("x-forwarded-for", "198.51.100.4")])
            ),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn forwarded_is_read_when_x_forwarded_for_is_absent() {
        let t = proxies("10.0.0.0/8");
        let h = headers(&[(
            "forwarded",
            r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https, for=10.3.3.3;by=10.0.0.1"#,
        )]);
        assert_eq!(t.client_of(ip("10.0.0.1"), &h), ip("2001:db8::7"));
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(t.client_of(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }
}
