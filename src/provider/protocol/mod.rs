//! Shared upstream protocol code: OAuth2 code exchange and PKCE, OIDC discovery, JWKS and
//! id_token checks, bounded HTTP, and validation of provider details.

use serde_json::{Map, Value};

use crate::provider::UpstreamIdentity;

pub mod assertion;
pub mod config;
pub mod details;
pub mod http;
pub mod idtoken;
pub mod jwks;
pub mod oauth2;
pub mod oidc;
pub mod plain;
pub mod saml;

/// A boolean claim that providers write as `true` or `"true"` (Apple, some Azure tenants).
pub fn claim_bool(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// An attribute by name, or by a dotted path into nested objects (`data.user.id`).
pub fn claim_path<'a>(m: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = m.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut cur = m.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// A string claim, trimmed; `None` when absent, empty or not a string.
pub fn claim_str(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The normalized identity from standard OIDC claim names (`sub`, `email`,
/// `email_verified`, `name`, `given_name`, `family_name`, `picture`, `groups`).
pub fn identity_from_claims(
    raw: Map<String, Value>,
    subject_key: &str,
    issuer: Option<String>,
) -> UpstreamIdentity {
    let groups = match raw.get("groups") {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let subject = match raw.get(subject_key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    UpstreamIdentity {
        subject,
        issuer,
        email: claim_str(&raw, "email"),
        email_verified: claim_bool(raw.get("email_verified")),
        name: claim_str(&raw, "name"),
        given_name: claim_str(&raw, "given_name"),
        family_name: claim_str(&raw, "family_name"),
        picture: claim_str(&raw, "picture"),
        groups,
        raw,
    }
}
