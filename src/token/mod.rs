//! Pool tokens: ID and access tokens (interface.md section 5), signed with the pool's
//! active key, and verification of access tokens presented back to poolgate.

pub mod claims;
pub mod jws;
pub mod keys;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::{IdentityLink, User};

pub use claims::{as_string, released_attributes};

pub use jws::{JwsError, SigningKey, TokenType};
pub use keys::{KeyError, KeyRing, KeyService};

/// What an ID/access token pair is issued from.
pub struct UserTokenInput<'a> {
    pub issuer: &'a str,
    pub user: &'a User,
    pub identities: &'a [IdentityLink],
    pub client_id: &'a str,
    pub scope: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    /// The refresh-token family (Cognito's `origin_jti`): revoking it revokes the
    /// access tokens issued in it.
    pub origin_jti: &'a str,
    pub id_ttl_s: i64,
    pub access_ttl_s: i64,
    /// IAM roles of the user's groups (`cognito:roles`) and the one of the group with
    /// the best precedence (`cognito:preferred_role`), as Cognito writes them.
    pub roles: &'a GroupRoles,
    pub with_id_token: bool,
    pub now: i64,
}

pub struct Issued {
    pub id_token: Option<String>,
    pub access_token: String,
    pub access_jti: String,
    pub expires_in: i64,
}

/// The claims poolgate reads back from its own access tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub client_id: String,
    pub token_use: String,
    pub scope: String,
    #[serde(default)]
    pub auth_time: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    #[serde(default)]
    pub origin_jti: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[cfg(test)]
mod role_tests {
    use super::GroupRoles;

    #[test]
    fn preferred_role_is_the_best_precedence_and_ties_give_none() {
        let r = GroupRoles::from_groups([
            (Some(1), Some("arn:a")),
            (Some(5), None),
            (Some(7), Some("arn:b")),
            (None, Some("arn:a")),
        ]);
        assert_eq!(r.roles, ["arn:a", "arn:b"]);
        assert_eq!(r.preferred.as_deref(), Some("arn:a"));
        let tie = GroupRoles::from_groups([(Some(2), Some("arn:a")), (Some(2), Some("arn:b"))]);
        assert_eq!(tie.preferred, None);
        assert_eq!(tie.roles.len(), 2);
        assert_eq!(
            GroupRoles::from_groups([(None, Some("arn:c"))]).preferred,
            None
        );
        assert_eq!(GroupRoles::from_groups([]), GroupRoles::default());
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("token expired")]
    Expired,
    #[error("token is for another issuer")]
    WrongIssuer,
    #[error("not an access token")]
    WrongUse,
}

/// The `identities` claim as Cognito writes it (strings for `primary` and `dateCreated`).
pub fn identities_claim(links: &[IdentityLink]) -> Value {
    Value::Array(
        links
            .iter()
            .map(|l| {
                json!({
                    "userId": l.subject,
                    "providerName": l.provider_name,
                    "providerType": l.provider_type.as_str(),
                    "issuer": l.issuer,
                    "primary": if l.primary { "true" } else { "false" },
                    "dateCreated": l.created_at_ms.to_string(),
                })
            })
            .collect(),
    )
}

/// The roles a user's groups give, as Cognito derives them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupRoles {
    /// The groups' `RoleArn`s, in token order, without duplicates.
    pub roles: Vec<String>,
    /// The role of the group with the lowest `Precedence` among those with a role;
    /// none when two such groups tie, or none has a precedence (as Cognito).
    pub preferred: Option<String>,
}

impl GroupRoles {
    /// From the user's groups in token order: `(precedence, role_arn)`.
    pub fn from_groups<'g>(
        groups: impl IntoIterator<Item = (Option<i64>, Option<&'g str>)>,
    ) -> Self {
        let with_role: Vec<(Option<i64>, &str)> = groups
            .into_iter()
            .filter_map(|(p, r)| r.map(|r| (p, r)))
            .collect();
        let mut roles: Vec<String> = Vec::new();
        for (_, r) in &with_role {
            if !roles.iter().any(|x| x == r) {
                roles.push((*r).to_owned());
            }
        }
        let preferred = match with_role.as_slice() {
            [(Some(p), r), rest @ ..] if !rest.iter().any(|(q, _)| *q == Some(*p)) => {
                Some((*r).to_owned())
            }
            _ => None,
        };
        Self { roles, preferred }
    }
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Which token a set of claims is about to become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Id,
    Access,
}

/// A change of a token's claims just before it is signed (a pre-token-generation hook).
pub type Customize<'a> = &'a (dyn Fn(TokenKind, &mut Map<String, Value>) + Send + Sync);

/// Signs an access token and, when asked, an ID token bound to it by `at_hash`, with
/// the claims of interface.md section 5 (Cognito's).
pub fn issue_user_tokens(ring: &KeyRing, input: &UserTokenInput<'_>) -> Result<Issued, JwsError> {
    issue_user_tokens_with(ring, input, &|_, _| {})
}

/// [`issue_user_tokens`] with each token's claims passed through `customize` before it
/// is signed (the access token first: the ID token's `at_hash` is of the final one).
pub fn issue_user_tokens_with(
    ring: &KeyRing,
    input: &UserTokenInput<'_>,
    customize: Customize<'_>,
) -> Result<Issued, JwsError> {
    let key = &ring.active;
    let user = input.user;
    let access_jti = new_jti();
    // One authentication event: both tokens of this issuance carry it.
    let event_id = new_jti();
    let mut at = Map::new();
    at.insert("iss".into(), json!(input.issuer));
    at.insert("sub".into(), json!(user.id));
    at.insert("client_id".into(), json!(input.client_id));
    at.insert("token_use".into(), json!("access"));
    at.insert("scope".into(), json!(input.scope));
    at.insert("auth_time".into(), json!(input.auth_time));
    at.insert("iat".into(), json!(input.now));
    at.insert("exp".into(), json!(input.now + input.access_ttl_s));
    at.insert("jti".into(), json!(access_jti));
    at.insert("origin_jti".into(), json!(input.origin_jti));
    at.insert("event_id".into(), json!(event_id));
    at.insert("username".into(), json!(user.username));
    at.insert("version".into(), json!(2));
    if !user.groups.is_empty() {
        at.insert("cognito:groups".into(), json!(user.groups));
    }
    customize(TokenKind::Access, &mut at);
    let access_token = key.sign(TokenType::AccessToken, &at)?;

    let id_token = if input.with_id_token {
        let mut id = claims::released_attributes(user, input.scope);
        id.insert("iss".into(), json!(input.issuer));
        id.insert("sub".into(), json!(user.id));
        id.insert("aud".into(), json!(input.client_id));
        id.insert("token_use".into(), json!("id"));
        id.insert("auth_time".into(), json!(input.auth_time));
        id.insert("iat".into(), json!(input.now));
        id.insert("exp".into(), json!(input.now + input.id_ttl_s));
        id.insert("jti".into(), json!(new_jti()));
        id.insert("origin_jti".into(), json!(input.origin_jti));
        id.insert("event_id".into(), json!(event_id));
        id.insert("at_hash".into(), json!(key.half_hash(&access_token)));
        if let Some(nonce) = input.nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        id.insert("cognito:username".into(), json!(user.username));
        if !user.groups.is_empty() {
            id.insert("cognito:groups".into(), json!(user.groups));
        }
        if !input.roles.roles.is_empty() {
            id.insert("cognito:roles".into(), json!(input.roles.roles));
        }
        if let Some(preferred) = &input.roles.preferred {
            id.insert("cognito:preferred_role".into(), json!(preferred));
        }
        if !input.identities.is_empty() {
            id.insert("identities".into(), identities_claim(input.identities));
        }
        customize(TokenKind::Id, &mut id);
        Some(key.sign(TokenType::Jwt, &id)?)
    } else {
        None
    };
    Ok(Issued {
        id_token,
        access_token,
        access_jti,
        expires_in: input.access_ttl_s,
    })
}

/// An access token for a client acting for itself (client_credentials): no user.
pub fn issue_client_token(
    ring: &KeyRing,
    issuer: &str,
    client_id: &str,
    scope: &str,
    ttl_s: i64,
    now: i64,
) -> Result<Issued, JwsError> {
    issue_client_token_with(ring, issuer, client_id, scope, ttl_s, now, &|_, _| {})
}

/// [`issue_client_token`] with its claims passed through `customize` before signing.
pub fn issue_client_token_with(
    ring: &KeyRing,
    issuer: &str,
    client_id: &str,
    scope: &str,
    ttl_s: i64,
    now: i64,
    customize: Customize<'_>,
) -> Result<Issued, JwsError> {
    let jti = new_jti();
    let mut claims = match json!({
        "iss": issuer, "sub": client_id, "client_id": client_id, "token_use": "access",
        "scope": scope, "auth_time": now, "iat": now, "exp": now + ttl_s, "jti": jti,
        "version": 2,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    customize(TokenKind::Access, &mut claims);
    let access_token = ring.active.sign(TokenType::AccessToken, &claims)?;
    Ok(Issued {
        id_token: None,
        access_token,
        access_jti: jti,
        expires_in: ttl_s,
    })
}

/// Verifies one of this pool's access tokens: signature by a published key, issuer,
/// expiry, `token_use`. Revocation is the caller's check (it needs the store).
pub fn verify_access(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let (header, payload) = jws::verify(token, |kid| ring.find(kid))?;
    // Access tokens carry no `typ` (those signed before carried `at+jwt`); an ID token
    // (`typ: JWT`, `token_use: id`) is never one.
    if !matches!(
        header.get("typ").and_then(Value::as_str),
        None | Some("at+jwt")
    ) {
        return Err(TokenError::WrongUse);
    }
    let claims: AccessClaims = serde_json::from_value(payload).map_err(|_| JwsError::Malformed)?;
    if claims.iss != issuer {
        return Err(TokenError::WrongIssuer);
    }
    if claims.token_use != "access" {
        return Err(TokenError::WrongUse);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}
