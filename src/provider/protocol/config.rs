//! Validation of provider `details`: required keys, endpoint URLs (https, or http on
//! loopback only), scopes and the `endpoints` overrides every social kind accepts.
//! Every check reports into a `Problems` list so an admin sees all mistakes at once.

use std::net::IpAddr;

use serde_json::{Map, Value};
use url::{Host, Url};

use crate::provider::detail_str;

/// The override keys of `details.endpoints` (interface.md section 3).
pub const ENDPOINT_KEYS: &[&str] = &[
    "issuer",
    "authorize_url",
    "token_url",
    "userinfo_url",
    "jwks_uri",
];

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

/// Reads a required string detail.
pub fn required<'a>(
    details: &'a Map<String, Value>,
    key: &str,
    p: &mut Problems,
) -> Option<&'a str> {
    match details.get(key) {
        None | Some(Value::Null) => {
            p.add(key, "is required");
            None
        }
        Some(Value::String(_)) => {
            let v = detail_str(details, key);
            if v.is_none() {
                p.add(key, "must not be empty");
            }
            v
        }
        Some(_) => {
            p.add(key, "must be a string");
            None
        }
    }
}

/// Reads an optional string detail; a non-string value is a problem.
pub fn optional<'a>(
    details: &'a Map<String, Value>,
    key: &str,
    p: &mut Problems,
) -> Option<&'a str> {
    match details.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(_)) => detail_str(details, key),
        Some(_) => {
            p.add(key, "must be a string");
            None
        }
    }
}

/// Reads an optional boolean detail (JSON boolean or "true"/"false").
pub fn optional_bool(details: &Map<String, Value>, key: &str, p: &mut Problems) -> bool {
    match details.get(key) {
        None | Some(Value::Null) => false,
        Some(_) => crate::provider::detail_bool(details, key).unwrap_or_else(|| {
            p.add(key, "must be true or false");
            false
        }),
    }
}

/// Reads an optional endpoint URL detail at `key` (reported as `label`).
pub fn optional_url(
    details: &Map<String, Value>,
    key: &str,
    label: &str,
    p: &mut Problems,
) -> Option<Url> {
    let value = match details.get(key) {
        None | Some(Value::Null) => return None,
        Some(Value::String(s)) => s.trim(),
        Some(_) => {
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

/// Reads an optional list of strings: a JSON array, or one string separated by spaces
/// or commas (`native_client_ids`).
pub fn string_list(details: &Map<String, Value>, key: &str, p: &mut Problems) -> Vec<String> {
    let items: Vec<String> = match details.get(key) {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::String(s)) => s.split([' ', ',']).map(str::to_owned).collect(),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => {
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

/// Rejects detail keys the kind does not know, so a typo (`hosted_domian`) is not
/// silently ignored.
pub fn unknown_keys(details: &Map<String, Value>, known: &[&str], p: &mut Problems) {
    for key in details.keys() {
        if !known.contains(&key.as_str()) {
            p.add(key, "is not a known detail for this provider type");
        }
    }
}

/// Endpoint overrides of a social kind (`details.endpoints`).
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub issuer: Option<Url>,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    pub jwks_uri: Option<Url>,
}

impl Endpoints {
    /// Parses `details.endpoints`, reporting bad values as `endpoints.<key>`.
    pub fn parse(details: &Map<String, Value>, p: &mut Problems) -> Self {
        let obj = match details.get("endpoints") {
            None | Some(Value::Null) => return Self::default(),
            Some(Value::Object(o)) => o,
            Some(_) => {
                p.add("endpoints", "must be a table of URLs");
                return Self::default();
            }
        };
        for key in obj.keys() {
            if !ENDPOINT_KEYS.contains(&key.as_str()) {
                p.add(&format!("endpoints.{key}"), "is not a known endpoint");
            }
        }
        let get = |k: &str, p: &mut Problems| optional_url(obj, k, &format!("endpoints.{k}"), p);
        Self {
            issuer: get("issuer", p),
            authorize_url: get("authorize_url", p),
            token_url: get("token_url", p),
            userinfo_url: get("userinfo_url", p),
            jwks_uri: get("jwks_uri", p),
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
pub fn scopes(details: &Map<String, Value>, default: &str, p: &mut Problems) -> Vec<String> {
    let raw = optional(details, "authorize_scopes", p).unwrap_or(default);
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
