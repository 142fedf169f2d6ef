//! Records shared by every layer: pools, app clients, identity providers, users,
//! identity links, signing keys and refresh tokens. The store persists them as they are.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Name of the pool that always exists.
pub const DEFAULT_POOL: &str = "default";
/// Cognito's limit on identities linked to one user.
pub const MAX_LINKS_PER_USER: usize = 5;

/// Signing algorithm of a pool's tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSettings {
    pub signing_alg: SigningAlg,
    pub cognito_claims: bool,
    pub email_case_sensitive: bool,
    /// The pool's name (Cognito's `PoolName`); the id stands in when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Native users' password policy (Cognito's `Policies.PasswordPolicy`).
    pub password_policy: PasswordPolicy,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            signing_alg: SigningAlg::RS256,
            cognito_claims: false,
            email_case_sensitive: false,
            name: None,
            password_policy: PasswordPolicy::default(),
        }
    }
}

/// Cognito's `PasswordPolicyType`, with its defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub temporary_password_validity_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    pub settings: PoolSettings,
    pub created_at: i64,
}

/// A domain (`host[:port]` as the Host header carries it) owned by one pool, with
/// optional TLS material for SNI.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainRecord {
    pub domain: String,
    pub pool_id: String,
    pub certificate_pem: Option<String>,
    pub private_key_pem: Option<String>,
    pub created_at: i64,
}

impl fmt::Debug for DomainRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DomainRecord")
            .field("domain", &self.domain)
            .field("pool_id", &self.pool_id)
            .field("has_certificate", &self.certificate_pem.is_some())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthFlow {
    Code,
    Implicit,
    ClientCredentials,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Branding {
    pub logo_url: Option<String>,
    pub primary_color: Option<String>,
    pub css: Option<String>,
}

/// An app client. `secret_hash` is the hex SHA-256 of the secret: client secrets are
/// 256 random bits, so a fast hash is as strong as a slow one and keeps the token
/// endpoint fast.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AppClient {
    pub pool_id: String,
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub allowed_oauth_flows: Vec<OAuthFlow>,
    pub allowed_scopes: Vec<String>,
    pub supported_identity_providers: Vec<String>,
    pub id_token_validity_s: u64,
    pub access_token_validity_s: u64,
    pub refresh_token_validity_s: u64,
    #[serde(default)]
    pub branding: Branding,
    pub created_at: i64,
}

impl fmt::Debug for AppClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppClient")
            .field("pool_id", &self.pool_id)
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret_hash.is_some())
            .finish()
    }
}

/// Kind of an upstream identity provider; the names are Cognito's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderType {
    Google,
    Facebook,
    SignInWithApple,
    LoginWithAmazon,
    OIDC,
    SAML,
    /// Any OAuth 2.0 provider that is not OpenID Connect (interface.md section 10).
    OAuth2,
    GitHub,
}

impl ProviderType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderType::Google => "Google",
            ProviderType::Facebook => "Facebook",
            ProviderType::SignInWithApple => "SignInWithApple",
            ProviderType::LoginWithAmazon => "LoginWithAmazon",
            ProviderType::OIDC => "OIDC",
            ProviderType::SAML => "SAML",
            ProviderType::OAuth2 => "OAuth2",
            ProviderType::GitHub => "GitHub",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPolicy {
    #[default]
    Never,
    Verified,
}

/// A registered identity provider. `details` stays JSON here: each adapter parses and
/// validates its own type's details.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderRecord {
    pub pool_id: String,
    pub name: String,
    pub provider_type: ProviderType,
    pub details: serde_json::Map<String, Value>,
    pub attribute_mapping: BTreeMap<String, String>,
    pub idp_identifiers: Vec<String>,
    pub link_by_email: LinkPolicy,
    pub created_at: i64,
    pub updated_at: i64,
}

impl fmt::Debug for ProviderRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRecord")
            .field("pool_id", &self.pool_id)
            .field("name", &self.name)
            .field("provider_type", &self.provider_type)
            .finish()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceScope {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceServer {
    pub pool_id: String,
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<ResourceScope>,
}

/// A pool user. `id` is the stable UUID that tokens carry as `sub`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub pool_id: String,
    pub id: String,
    pub username: String,
    pub enabled: bool,
    /// The email as the upstream wrote it.
    pub email: Option<String>,
    /// The email as compared (lower-cased unless the pool says otherwise).
    pub email_norm: Option<String>,
    pub email_verified: bool,
    /// Mapped attributes other than email (`name`, `given_name`, `picture`, ...).
    pub attributes: BTreeMap<String, Value>,
    pub groups: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Access tokens issued before this instant are no longer honoured (global sign-out).
    pub tokens_valid_after: i64,
}

/// One upstream identity linked to a pool user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub pool_id: String,
    pub provider_name: String,
    pub provider_type: ProviderType,
    pub subject: String,
    pub issuer: Option<String>,
    pub user_id: String,
    pub primary: bool,
    pub created_at_ms: i64,
}

/// A pool signing key. The private key is PKCS#8 DER, base64 (standard alphabet).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningKeyRecord {
    pub pool_id: String,
    pub kid: String,
    pub alg: SigningAlg,
    pub private_pkcs8: String,
    pub public_jwk: Value,
    pub created_at: i64,
    /// The key that signs new tokens. One per pool.
    pub active: bool,
    /// A retired key stays in the JWKS until this instant (its last token's expiry).
    pub visible_until: Option<i64>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("pool_id", &self.pool_id)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("active", &self.active)
            .field("visible_until", &self.visible_until)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshState {
    Active,
    /// Rotated: presenting it again is reuse, and revokes the family.
    Used,
    Revoked,
}

/// A refresh token, stored only by the hex SHA-256 of its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub token_hash: String,
    pub pool_id: String,
    pub family_id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub state: RefreshState,
}

/// Filters of the admin user list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserFilter {
    pub email_norm: Option<String>,
    pub provider: Option<String>,
}

/// One page of a list: `next_cursor` is opaque to callers.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A pool group (Cognito's `GroupType`): its members' tokens carry it in
/// `cognito:groups`, ordered by `precedence` (lowest first, then unset, then by name).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub pool_id: String,
    pub name: String,
    pub description: Option<String>,
    pub precedence: Option<i64>,
    pub role_arn: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
