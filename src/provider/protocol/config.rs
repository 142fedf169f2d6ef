//! Validation of provider `details`, read through the kind's typed config
//! (`details.rs`): required keys, endpoint URLs (https, or http on loopback only),
//! scopes and the `endpoints` overrides every social kind accepts. Every check reports
//! into a `Problems` list so an admin sees all mistakes at once.

use std::net::IpAddr;

use secrecy::SecretString;
use serde::Deserialize;
use url::{Host, Url};

pub use super::details::{Flag, Ignored, Number, Table, Text, Words, typed};

/// Problems found in a registration, each naming its key.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn add(&mut self, key: &str, msg: impl std::fmt::Display) {
        self.0.push(format!("details.{key}: {msg}"));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<(), Vec<String>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// True for `localhost`, `*.localhost`, 127.0.0.0/8 and `[::1]`: the only hosts where
/// plain `http` is allowed (development and tests).
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses an upstream endpoint: absolute, `https` (or `http` on loopback), no fragment,
/// no credentials.
pub fn parse_endpoint(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not an absolute URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(&url) => {}
        "http" => {
            return Err("must use https (plain http is allowed only for loopback hosts)".into());
        }
        other => return Err(format!("unsupported scheme {other:?}; must be https")),
    }
    if url.host().is_none() {
        return Err("has no host".into());
    }
    if url.fragment().is_some() {
        return Err("must not carry a fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url)
}

/// An address no public identity provider's endpoint has: loopback, private (RFC 1918,
/// RFC 4193), link-local (cloud metadata services live at 169.254.169.254), shared
/// (RFC 6598), unspecified or broadcast.
pub fn is_internal_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_ip(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// An endpoint named by an upstream's discovery document (not by the admin): as
/// [`parse_endpoint`], and, unless the issuer itself is on loopback (development and
/// tests), never a loopback or internal address, hence never plain `http`. The token
/// request carries the client secret: a discovery document must not be able to send it
/// (or the gateway's requests) to a service inside the operator's network (SSRF).
/// Names are checked as written; a public name that resolves to an internal address is
/// for the operator's egress rules.
pub fn discovered_endpoint(value: &str, issuer: &str) -> Result<Url, String> {
    let url = parse_endpoint(value)?;
    let issuer_local = Url::parse(issuer).is_ok_and(|i| is_loopback_host(&i));
    if issuer_local {
        return Ok(url);
    }
    let internal = is_loopback_host(&url)
        || match url.host() {
            Some(Host::Ipv4(ip)) => is_internal_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => is_internal_ip(IpAddr::V6(ip)),
            _ => false,
        };
    if internal {
        return Err(
            "points at a loopback or internal address, which only a loopback issuer may use".into(),
        );
    }
    Ok(url)
}

/// A required string detail.
pub fn required<'a>(t: &'a Text, key: &str, p: &mut Problems) -> Option<&'a str> {
    match t {
        Text::Absent => {
            p.add(key, "is required");
            None
        }
        Text::Given(_) => {
            let v = t.get();
            if v.is_none() {
                p.add(key, "must not be empty");
            }
            v
        }
        Text::NotText => {
            p.add(key, "must be a string");
            None
        }
    }
}

/// The OAuth 2.0 client a registration names (`client_id`, `client_secret`, both
/// required): the id, and the secret kept out of `Debug`.
pub fn client_credentials(id: &Text, secret: &Text, p: &mut Problems) -> (String, SecretString) {
    let id = required(id, "client_id", p).unwrap_or("").to_owned();
    let secret = required(secret, "client_secret", p)
        .unwrap_or("")
        .to_owned();
    (id, SecretString::from(secret))
}

/// The nested table `details.endpoints` of URLs typed as `T`: its keys `T` does not
/// know, or a value that is not a table, reported as problems. `None` when absent or
/// not a table.
pub fn endpoints_table<'a, T>(t: &'a Table<T>, p: &mut Problems) -> Option<&'a T> {
    match t {
        Table::Absent => None,
        Table::Given { value, unknown } => {
            for key in unknown {
                p.add(&format!("endpoints.{key}"), "is not a known endpoint");
            }
            Some(value)
        }
        Table::NotTable => {
            p.add("endpoints", "must be a table of URLs");
            None
        }
    }
}

/// An optional string detail; a non-string value is a problem.
pub fn optional<'a>(t: &'a Text, key: &str, p: &mut Problems) -> Option<&'a str> {
    if *t == Text::NotText {
        p.add(key, "must be a string");
    }
    t.get()
}

/// An optional boolean detail (JSON boolean or "true"/"false"), `default` when absent.
pub fn flag(f: Flag, key: &str, default: bool, p: &mut Problems) -> bool {
    match f {
        Flag::Absent => default,
        Flag::Given(b) => b,
        Flag::Invalid => {
            p.add(key, "must be true or false");
            false
        }
    }
}

/// An optional endpoint URL detail (reported as `label`).
pub fn optional_url(t: &Text, label: &str, p: &mut Problems) -> Option<Url> {
    let value = match t {
        Text::Absent => return None,
        Text::Given(s) => s.trim(),
        Text::NotText => {
            p.add(label, "must be a string");
            return None;
        }
    };
    if value.is_empty() {
        return None;
    }
    match parse_endpoint(value) {
        Ok(u) => Some(u),
        Err(e) => {
            p.add(label, e);
            None
        }
    }
}

/// An optional list of strings (`native_client_ids`): entries trimmed, empty ones
/// dropped.
pub fn string_list(w: &Words, key: &str, p: &mut Problems) -> Vec<String> {
    let items = match w {
        Words::Absent => return Vec::new(),
        Words::Given(items) => items,
        Words::Invalid => {
            p.add(key, "must be a list of strings");
            return Vec::new();
        }
    };
    let items: Vec<String> = items
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if items
        .iter()
        .any(|s| s.len() > 256 || s.chars().any(char::is_control))
    {
        p.add(
            key,
            "has an entry that is too long or has control characters",
        );
    }
    items
}

/// The keys of `details.endpoints`: overrides of a social kind's public endpoints
/// (interface.md section 3).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointDetails {
    pub issuer: Text,
    pub authorize_url: Text,
    pub token_url: Text,
    pub userinfo_url: Text,
    pub jwks_uri: Text,
}

/// Endpoint overrides of a social kind (`details.endpoints`), parsed.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub issuer: Option<Url>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    pub jwks_uri: Option<Url>,
}

impl Endpoints {
    /// Checks `details.endpoints`, reporting bad values as `endpoints.<key>`.
    pub fn parse(t: &Table<EndpointDetails>, p: &mut Problems) -> Self {
        let Some(e) = endpoints_table(t, p) else {
            return Self::default();
        };
        let mut get = |t: &Text, k: &str| optional_url(t, &format!("endpoints.{k}"), p);
        Self {
            issuer: get(&e.issuer, "issuer"),
            authorize_url: get(&e.authorize_url, "authorize_url"),
            token_url: get(&e.token_url, "token_url"),
            userinfo_url: get(&e.userinfo_url, "userinfo_url"),
            jwks_uri: get(&e.jwks_uri, "jwks_uri"),
        }
    }
}

/// The issuer as a string without a trailing slash unless it is the whole path, as
/// providers write it in `iss` (`https://accounts.google.com`).
pub fn issuer_string(url: &Url) -> String {
    let s = url.as_str();
    if url.path() == "/" && url.query().is_none() {
        s.trim_end_matches('/').to_owned()
    } else {
        s.to_owned()
    }
}

/// Splits `authorize_scopes` (space or comma separated) into scopes.
pub fn scopes(t: &Text, default: &str, p: &mut Problems) -> Vec<String> {
    let raw = optional(t, "authorize_scopes", p).unwrap_or(default);
    let list: Vec<String> = raw
        .split([' ', ',', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if list.is_empty() {
        p.add("authorize_scopes", "must name at least one scope");
    }
    for s in &list {
        if s.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            p.add(
                "authorize_scopes",
                format!("scope {s:?} has characters a scope cannot have"),
            );
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovered_endpoints_stay_outside_unless_the_issuer_is_local() {
        let public = "https://idp.example";
        for bad in [
            "http://127.0.0.1:8080/token",
            "https://127.0.0.1/token",
            "https://localhost/token",
            "https://10.1.2.3/token",
            "https://172.16.0.1/token",
            "https://192.168.1.1/token",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/token",
            "https://0.0.0.0/token",
            "https://[::1]/token",
            "https://[fd00::1]/token",
            "https://[fe80::1]/token",
            "https://[::ffff:10.0.0.1]/token",
            "http://idp.example/token",
        ] {
            assert!(discovered_endpoint(bad, public).is_err(), "{bad}");
        }
        assert!(discovered_endpoint("https://idp.example/token", public).is_ok());
        assert!(discovered_endpoint("https://8.8.8.8/token", public).is_ok());
        // A loopback issuer (development, tests) may name loopback endpoints.
        assert!(discovered_endpoint("http://127.0.0.1:9/token", "http://127.0.0.1:9").is_ok());
        assert!(discovered_endpoint("http://10.0.0.1/token", "http://127.0.0.1:9").is_err());
    }

    #[test]
    fn http_only_on_loopback() {
        for ok in [
            "http://localhost:1/x",
            "http://a.localhost/",
            "http://127.0.0.9:8/",
            "http://[::1]:3/",
            "https://e.com/",
        ] {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "http://localhost.example.com/",
            "ftp://localhost/",
            "https://u:p@e.com/",
            "https://e.com/#f",
            "/rel",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_without_trailing_slash() {
        let u = Url::parse("https://accounts.google.com").unwrap_or_else(|_| unreachable!());
        assert_eq!(issuer_string(&u), "https://accounts.google.com");
        let u = Url::parse("https://idp.example/realms/x/").unwrap_or_else(|_| unreachable!());
        assert_eq!(issuer_string(&u), "https://idp.example/realms/x/");
    }
}
