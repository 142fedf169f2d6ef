//! Pool tokens: ID and access tokens (interface.md section 5), signed with the pool's
//! active key, and verification of access tokens presented back to poolgate.

pub mod jws;
pub mod keys;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model::{IdentityLink, User};

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
    pub cognito_claims: bool,
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

/// The user's profile claims: mapped attributes, email, username, groups.
pub fn profile_claims(user: &User, out: &mut Map<String, Value>) {
    for (k, v) in &user.attributes {
        out.insert(k.clone(), v.clone());
    }
    if let Some(email) = &user.email {
        out.insert("email".into(), Value::String(email.clone()));
        out.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    out.insert("username".into(), Value::String(user.username.clone()));
    out.insert("groups".into(), json!(user.groups));
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Signs an access token and, when asked, an ID token bound to it by `at_hash`.
pub fn issue_user_tokens(ring: &KeyRing, input: &UserTokenInput<'_>) -> Result<Issued, JwsError> {
    let key = &ring.active;
    let access_jti = new_jti();
    let mut at = Map::new();
    at.insert("iss".into(), json!(input.issuer));
    at.insert("sub".into(), json!(input.user.id));
    at.insert("client_id".into(), json!(input.client_id));
    at.insert("token_use".into(), json!("access"));
    at.insert("scope".into(), json!(input.scope));
    at.insert("auth_time".into(), json!(input.auth_time));
    at.insert("iat".into(), json!(input.now));
    at.insert("exp".into(), json!(input.now + input.access_ttl_s));
    at.insert("jti".into(), json!(access_jti));
    at.insert("origin_jti".into(), json!(input.origin_jti));
    at.insert("username".into(), json!(input.user.username));
    at.insert("groups".into(), json!(input.user.groups));
    if input.cognito_claims {
        at.insert("cognito:groups".into(), json!(input.user.groups));
    }
    let access_token = key.sign(TokenType::AccessToken, &at)?;

    let id_token = if input.with_id_token {
        let mut id = Map::new();
        profile_claims(input.user, &mut id);
        id.insert("iss".into(), json!(input.issuer));
        id.insert("sub".into(), json!(input.user.id));
        id.insert("aud".into(), json!(input.client_id));
        id.insert("token_use".into(), json!("id"));
        id.insert("auth_time".into(), json!(input.auth_time));
        id.insert("iat".into(), json!(input.now));
        id.insert("exp".into(), json!(input.now + input.id_ttl_s));
        id.insert("jti".into(), json!(new_jti()));
        id.insert("origin_jti".into(), json!(input.origin_jti));
        id.insert("at_hash".into(), json!(key.half_hash(&access_token)));
        if let Some(nonce) = input.nonce {
            id.insert("nonce".into(), json!(nonce));
        }
        // A native user without linked identities has no `identities` claim (Cognito's).
        if !input.identities.is_empty() {
            id.insert("identities".into(), identities_claim(input.identities));
        }
        if input.cognito_claims {
            id.insert("cognito:username".into(), json!(input.user.username));
            id.insert("cognito:groups".into(), json!(input.user.groups));
        }
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
    let jti = new_jti();
    let claims = json!({
        "iss": issuer, "sub": client_id, "client_id": client_id, "token_use": "access",
        "scope": scope, "iat": now, "exp": now + ttl_s, "jti": jti,
    });
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
    if header.get("typ").and_then(Value::as_str) != Some("at+jwt") {
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
