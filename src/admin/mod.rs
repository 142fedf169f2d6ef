//! The admin layer: the one service for administrative rules ([`Admin`], under
//! `/admin/v1`, the Cognito API and the declarative provider files), its request
//! bodies and their validation, and the JSON views of `/admin/v1` (secrets masked,
//! hashes hidden).

pub mod attributes;
pub mod bodies;
pub mod builtin_client;
pub mod certs;
pub mod client_secrets;
pub mod clients;
pub mod console_signin;
pub mod domains;
pub mod error;
pub mod files;
pub mod groups;
pub mod hooks;
pub mod imports;
pub mod keys;
pub mod links;
pub mod native_users;
pub mod pending_links;
pub mod pools;
pub mod providers;
pub mod service;
pub mod sessions;
pub mod tags;
pub mod test_signin;
pub mod users;

pub use bodies::{
    ClientBody, ClientPatch, DomainBody, LinkBody, PoolBody, PoolPatch, ProviderBody,
    ResourceServerBody, default_auth_flows,
};
pub use client_secrets::ClientSecretInfo;
pub use clients::NewClient;
pub use error::{AdminError, AdminResult};
pub use pools::DomainInfo;
pub use providers::PutProvider;
pub use service::{Admin, PoolInfo, UserInfo};
pub use sessions::{ConsoleMember, ConsoleSession};
pub use users::UserQuery;

use serde_json::{Value, json};

use crate::model::{AppClient, IdentityLink, Pool, ProviderRecord, User};
use crate::provider::registry;
use crate::token::identities_claim;

/// What a masked secret reads as; sending it back keeps the stored secret.
pub const MASK: &str = "********";

/// A name usable as a pool id: 1..=63 of `[a-z0-9-]`, not starting with `-`.
pub fn valid_pool_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && !id.starts_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A pool id as either interface makes it: [`valid_pool_id`]'s, or Cognito's
/// `UserPoolIdType` (`[\w-]+_[0-9a-zA-Z]+`, at most 55 characters) of `CreateUserPool`.
pub fn valid_any_pool_id(id: &str) -> bool {
    if valid_pool_id(id) {
        return true;
    }
    let Some((region, suffix)) = id.rsplit_once('_') else {
        return false;
    };
    id.len() <= 55
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !suffix.is_empty()
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A provider name as Cognito allows: 1..=32 visible characters, no `/` or spaces.
pub fn valid_provider_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '/' && c != '%')
}

/// A domain as the Host header carries it: `host[:port]`, lower case.
pub fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    host_ok && port_ok
}

pub fn pool_view(pool: &Pool, domains: &[String]) -> Value {
    json!({"id": pool.id, "domains": domains, "settings": pool.settings, "created_at": pool.created_at})
}

pub fn client_view(c: &AppClient) -> Value {
    json!({
        "client_id": c.client_id,
        "name": c.name,
        "has_secret": c.secret_hash.is_some(),
        "callback_urls": c.callback_urls,
        "logout_urls": c.logout_urls,
        "allowed_oauth_flows": c.allowed_oauth_flows,
        "allowed_scopes": c.allowed_scopes,
        "supported_identity_providers": c.supported_identity_providers,
        "id_token_validity_s": c.id_token_validity_s,
        "access_token_validity_s": c.access_token_validity_s,
        "refresh_token_validity_s": c.refresh_token_validity_s,
        "branding": c.branding,
        "refresh_token_rotation": c.refresh_token_rotation,
        "explicit_auth_flows": c.explicit_auth_flows,
        "created_at": c.created_at,
    })
}

/// A provider with its secret details masked.
pub fn provider_view(p: &ProviderRecord) -> Value {
    let secrets = registry::kind(&p.provider_type).secret_fields();
    let mut details = p.details.clone();
    for (k, v) in details.iter_mut() {
        if secrets.contains(&k.as_str()) && !v.is_null() {
            *v = Value::String(MASK.into());
        }
    }
    let mut view = json!({
        "name": p.name,
        "type": p.provider_type,
        "details": details,
        "attribute_mapping": p.attribute_mapping,
        "idp_identifiers": p.idp_identifiers,
        "link_by_email": p.link_by_email,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    });
    // Derived, never stored: the public keys to register at the IdP (private_key_jwt).
    if let (Some(jwks), Value::Object(m)) = (
        registry::kind(&p.provider_type).public_details(&p.details),
        &mut view,
    ) {
        m.insert("public_jwks".into(), jwks);
    }
    view
}

pub fn user_view(u: &User, links: &[IdentityLink]) -> Value {
    json!({
        "username": u.username,
        "sub": u.id,
        "enabled": u.enabled,
        "email": u.email,
        "email_verified": u.email_verified,
        "attributes": u.attributes,
        "groups": u.groups,
        "identities": identities_claim(links),
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_pool_id("acme-1"));
        assert!(!valid_pool_id("Acme"));
        assert!(!valid_pool_id(""));
        assert!(valid_any_pool_id("acme-1"));
        assert!(valid_any_pool_id("eu-west-1_I1AGzfIgT"));
        for bad in ["", "_abc", "eu-west-1_", "eu-west-1_a/b", "a_b.c", "../x_y"] {
            assert!(!valid_any_pool_id(bad), "{bad:?}");
        }
        assert!(!valid_any_pool_id(&format!("us-east-1_{}", "a".repeat(50))));
        assert!(valid_domain("login.acme.com"));
        assert!(valid_domain("localhost:8080"));
        assert!(!valid_domain("Login.acme.com"));
        assert!(!valid_domain("a b.com"));
        assert!(!valid_domain("x.com:99999"));
        assert!(valid_provider_name("Google"));
        assert!(!valid_provider_name("a/b"));
    }
}
