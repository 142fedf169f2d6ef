//! Which user attributes a token or `/oauth2/userInfo` releases, by the granted scopes
//! (interface.md section 5), and the claim names nothing may map onto.

use serde_json::{Map, Value};

use crate::model::User;

/// Attributes of the `profile` scope (OIDC Core 5.4). Cognito has no `address` scope
/// and releases `address` with `profile`.
const PROFILE: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "address",
];
const EMAIL: &[&str] = &["email", "email_verified"];
const PHONE: &[&str] = &["phone_number", "phone_number_verified"];

/// Standard attributes a provider's `attribute_mapping` may write (OIDC Core 5.1, as
/// Cognito's standard attributes); anything else must be `custom:*`.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
    "address",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];

/// Claims a token carries of its own: a mapping onto one of them is refused.
pub const RESERVED_CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "jti",
    "origin_jti",
    "event_id",
    "token_use",
    "scope",
    "client_id",
    "username",
    "version",
    "identities",
    "groups",
];

/// Whether a pool attribute name is a claim the gateway writes itself, or an attribute
/// it keeps for itself (`poolgate:`, such as the test-user mark), never released.
pub fn is_reserved(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name) || name.starts_with("cognito:") || name.starts_with("poolgate:")
}

/// Whether `attr` is released under `scopes`. As Cognito: `openid` without any of
/// `email`, `profile` or `phone` releases every attribute; with them, only theirs.
/// `custom:*` attributes are released whatever the scopes.
fn released(attr: &str, scopes: &[&str]) -> bool {
    if attr.starts_with("custom:") || !narrowed(scopes) {
        return true;
    }
    (scopes.contains(&"email") && EMAIL.contains(&attr))
        || (scopes.contains(&"profile") && PROFILE.contains(&attr))
        || (scopes.contains(&"phone") && PHONE.contains(&attr))
}

/// Whether the scopes name any of `email`, `profile`, `phone`, which narrow what is
/// released to their own attributes.
pub fn narrowed(scopes: &[&str]) -> bool {
    scopes
        .iter()
        .any(|s| matches!(*s, "email" | "profile" | "phone"))
}

/// The user's attributes (email included) released under `scope`, as stored.
pub fn released_attributes(user: &User, scope: &str) -> Map<String, Value> {
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    let mut out = Map::new();
    for (k, v) in &user.attributes {
        if !is_reserved(k) && released(k, &scopes) {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(email) = &user.email
        && released("email", &scopes)
    {
        out.insert("email".into(), Value::String(email.clone()));
        out.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    out
}

/// A claim value as Cognito's userInfo writes it: always a string.
pub fn as_string(v: &Value) -> Value {
    match v {
        Value::String(_) => v.clone(),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Number(n) => Value::String(n.to_string()),
        other => Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn user() -> User {
        User {
            pool_id: "p".into(),
            id: "u".into(),
            username: "n".into(),
            enabled: true,
            email: Some("a@x.com".into()),
            email_norm: Some("a@x.com".into()),
            email_verified: true,
            attributes: BTreeMap::from([
                ("name".to_owned(), json!("Ann")),
                ("phone_number".to_owned(), json!("+1555")),
                ("custom:team".to_owned(), json!("blue")),
                ("groups".to_owned(), json!(["legacy"])),
            ]),
            groups: vec![],
            created_at: 0,
            updated_at: 0,
            tokens_valid_after: 0,
        }
    }

    #[test]
    fn scopes_narrow_the_attributes() {
        let u = user();
        let keys = |scope: &str| {
            released_attributes(&u, scope)
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys("openid"),
            [
                "custom:team",
                "email",
                "email_verified",
                "name",
                "phone_number"
            ]
        );
        assert_eq!(
            keys("openid email"),
            ["custom:team", "email", "email_verified"]
        );
        assert_eq!(keys("openid profile"), ["custom:team", "name"]);
        assert_eq!(keys("openid phone"), ["custom:team", "phone_number"]);
    }

    #[test]
    fn reserved_names() {
        for n in [
            "sub",
            "cognito:groups",
            "cognito:anything",
            "token_use",
            "aud",
        ] {
            assert!(is_reserved(n), "{n}");
        }
        assert!(!is_reserved("custom:sub"));
        assert!(!is_reserved("email"));
    }

    #[test]
    fn strings_everywhere() {
        assert_eq!(as_string(&json!(true)), json!("true"));
        assert_eq!(as_string(&json!(3)), json!("3"));
        assert_eq!(as_string(&json!("x")), json!("x"));
        assert_eq!(as_string(&json!(["a"])), json!("[\"a\"]"));
    }
}
