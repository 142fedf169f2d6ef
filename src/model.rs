//! Records shared by every layer: pools, app clients, identity providers, users,
//! identity links, signing keys and refresh tokens. The store persists them as they are.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Name of the pool that always exists.
pub const DEFAULT_POOL: &str = "default";
/// The provider name of the pool's own (native) users, as Cognito's.
pub const NATIVE_PROVIDER: &str = "COGNITO";
/// Cognito's limit on identities linked to one user.
pub const MAX_LINKS_PER_USER: usize = 5;
/// The app client id of a pool's built-in test client (the console's "Test sign-in"):
/// not a generated id (those are 26 lower-case alphanumerics), so no app's collides.
pub const TEST_CLIENT_ID: &str = "poolgate-test-sign-in";
/// The app client id of the console's sign-in through a pool (`POOLGATE_CONSOLE_POOL`):
/// made and kept up to date by poolgate in that pool, not a generated id either.
pub const CONSOLE_CLIENT_ID: &str = "poolgate-console";
/// The attribute marking a user made by a console test sign-in (removable as such).
/// `poolgate:` attributes are the gateway's own: never released in a token.
pub const TEST_USER_ATTRIBUTE: &str = "poolgate:test_user";

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

/// Which issuer a pool's tokens carry (interface.md section 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuerStyle {
    /// `SCHEME://DOMAIN` of the domain the request came in on.
    #[default]
    Domain,
    /// `{POOLGATE_PUBLIC_URL}/{pool id}`, as Cognito's
    /// `https://cognito-idp.{region}.amazonaws.com/{pool id}`, whatever the domain.
    Cognito,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSettings {
    pub signing_alg: SigningAlg,
    pub email_case_sensitive: bool,
    /// The pool's name (Cognito's `PoolName`); the id stands in when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub issuer_style: IssuerStyle,
    /// The SAML SP entity ID; `None`: `urn:poolgate:sp:{pool}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sp_entity_id: Option<String>,
    /// Retired: `cognito:username` and `cognito:groups` are always issued now. Read
    /// from records stored before, never written back; the admin API refuses it.
    #[serde(skip_serializing)]
    pub cognito_claims: Option<bool>,
    /// Cognito's `LambdaConfig`: the URL of each trigger's hook (interface.md section 8).
    #[serde(skip_serializing_if = "LambdaConfig::is_empty")]
    pub hooks: LambdaConfig,
    /// Native users' password policy (Cognito's `Policies.PasswordPolicy`).
    pub password_policy: PasswordPolicy,
    /// Cognito's `UserPoolTags`: labels for the operator's tools (Terraform reads them).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// The text of mailed codes (Cognito's `VerificationMessageTemplate`).
    #[serde(skip_serializing_if = "VerificationMessageTemplate::is_empty")]
    pub verification_message_template: VerificationMessageTemplate,
    /// Self sign-up and the invitation's text (Cognito's `AdminCreateUserConfig`).
    #[serde(skip_serializing_if = "AdminCreateUserConfig::is_default")]
    pub admin_create_user_config: AdminCreateUserConfig,
    /// Cognito's `MfaConfiguration`: `SMS_MFA` is offered only when it is not `OFF`;
    /// `ON`: every native user must pass a second factor (set up during the sign-in).
    #[serde(skip_serializing_if = "MfaConfiguration::is_off")]
    pub mfa_configuration: MfaConfiguration,
    /// The user attributes the pool declares (Cognito's `Schema`/`SchemaAttributes`).
    /// `None`: a pool that declares none (made through `/admin/v1`, or before schemas
    /// were kept), which accepts any `custom:` attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<SchemaAttribute>>,
    /// Cognito's `UsernameAttributes`: `["email"]` makes the email the name users sign
    /// in with (their username is then their `sub`). Set when the pool is made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub username_attributes: Vec<String>,
    /// Cognito's `AliasAttributes`: `["email"]` lets users also sign in with their
    /// verified email. Set when the pool is made; never with `username_attributes`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alias_attributes: Vec<String>,
    /// Cognito's `SoftwareTokenMfaConfiguration` (`SetUserPoolMfaConfig`). With
    /// `sms_mfa_configuration` also unset (a pool stored before these settings), the
    /// pool offers TOTP and, unless `OFF`, SMS: see [`PoolSettings::totp_mfa_offered`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_token_mfa_configuration: Option<SoftwareTokenMfaConfig>,
    /// Cognito's `SmsMfaConfiguration`: set, the pool offers SMS MFA (the code goes out
    /// through the `CustomSMSSender` hook; `SmsConfiguration` is kept and shown, never
    /// used: poolgate has no SMS vendor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_mfa_configuration: Option<SmsMfaConfig>,
}

impl PoolSettings {
    /// Whether the second factors were set explicitly (`SetUserPoolMfaConfig`).
    fn mfa_factors_set(&self) -> bool {
        self.software_token_mfa_configuration.is_some() || self.sms_mfa_configuration.is_some()
    }

    /// Whether the pool offers TOTP (`SOFTWARE_TOKEN_MFA`).
    pub fn totp_mfa_offered(&self) -> bool {
        match &self.software_token_mfa_configuration {
            Some(c) => c.enabled,
            None => !self.mfa_factors_set(),
        }
    }

    /// Whether the pool offers SMS (`SMS_MFA`): never with `OFF`.
    pub fn sms_mfa_offered(&self) -> bool {
        !self.mfa_configuration.is_off()
            && (self.sms_mfa_configuration.is_some() || !self.mfa_factors_set())
    }
}

/// Cognito's `SoftwareTokenMfaConfigType`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct SoftwareTokenMfaConfig {
    pub enabled: bool,
}

/// Cognito's `SmsMfaConfigType`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct SmsMfaConfig {
    /// The text of the code (`{####}`); handed to no one, as the code goes to the hook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_authentication_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_configuration: Option<SmsConfiguration>,
}

/// Cognito's `SmsConfigurationType` (the SNS role that would send the messages).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SmsConfiguration {
    pub sns_caller_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sns_region: Option<String>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            signing_alg: SigningAlg::RS256,
            email_case_sensitive: false,
            name: None,
            issuer_style: IssuerStyle::Domain,
            sp_entity_id: None,
            cognito_claims: None,
            hooks: LambdaConfig::default(),
            password_policy: PasswordPolicy::default(),
            tags: BTreeMap::new(),
            verification_message_template: VerificationMessageTemplate::default(),
            admin_create_user_config: AdminCreateUserConfig::default(),
            mfa_configuration: MfaConfiguration::Off,
            schema: None,
            username_attributes: Vec::new(),
            alias_attributes: Vec::new(),
            software_token_mfa_configuration: None,
            sms_mfa_configuration: None,
        }
    }
}

/// Cognito's `UserPoolMfaType`. `ON`: every native user must have a second factor, set
/// up during the sign-in (`MFA_SETUP`) when it has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MfaConfiguration {
    #[default]
    Off,
    Optional,
    On,
}

impl MfaConfiguration {
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Optional => "OPTIONAL",
            Self::On => "ON",
        }
    }
}

/// Cognito's `VerificationMessageTemplateType`: `{####}` stands for the code. Unset
/// members take Cognito's default texts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct VerificationMessageTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_message_by_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_subject_by_link: Option<String>,
    /// `CONFIRM_WITH_CODE` (the only one poolgate sends) or `CONFIRM_WITH_LINK`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_email_option: Option<String>,
}

impl VerificationMessageTemplate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Cognito's `MessageTemplateType` (the invitation: `{username}` and `{####}`, the
/// temporary password).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct MessageTemplate {
    #[serde(rename = "SMSMessage", skip_serializing_if = "Option::is_none")]
    pub sms_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_subject: Option<String>,
}

/// Cognito's `AdminCreateUserConfigType`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default, rename_all = "PascalCase")]
pub struct AdminCreateUserConfig {
    /// `true`: only administrators create users (`SignUp` is refused).
    pub allow_admin_create_user_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unused_account_validity_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invite_message_template: Option<MessageTemplate>,
}

impl AdminCreateUserConfig {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
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

impl PoolSettings {
    /// The SAML SP entity ID of pool `pool`.
    pub fn sp_entity_id(&self, pool: &str) -> String {
        self.sp_entity_id
            .clone()
            .unwrap_or_else(|| format!("urn:poolgate:sp:{pool}"))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub id: String,
    pub settings: PoolSettings,
    pub created_at: i64,
    /// Key of the `X-Poolgate-Signature` on hook calls; set when hooks are first set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_secret: Option<HookSecret>,
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
    /// Cognito's `RefreshTokenRotation`: off unless enabled.
    #[serde(default)]
    pub refresh_token_rotation: RefreshRotation,
    /// Cognito's `ExplicitAuthFlows` (`ALLOW_REFRESH_TOKEN_AUTH`, ...).
    #[serde(default)]
    pub explicit_auth_flows: Vec<String>,
    pub created_at: i64,
    /// The client's current secrets (at most 2), oldest first; `secret_hash` is the
    /// first one's digest. Empty for a public client and for a client stored before
    /// secrets were kept sealed (its `secret_hash` is then its one secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ClientSecretRecord>,
}

/// One secret of an app client: its SHA-256 digest authenticates the client; `sealed`
/// is the secret encrypted with the operator's key (`crate::secret::Sealer`), absent
/// for a secret kept before encryption at rest (it authenticates but cannot be shown).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSecretRecord {
    /// Cognito's `ClientSecretId`: `{client id}--{creation time in ms}`.
    pub id: String,
    pub created_at: i64,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl fmt::Debug for ClientSecretRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretRecord")
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("sealed", &self.sealed.is_some())
            .finish()
    }
}

/// The maximum number of secrets a client has at once (Cognito's).
pub const MAX_CLIENT_SECRETS: usize = 2;

/// Refresh-token rotation of an app client (interface.md section 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefreshRotation {
    /// Off (Cognito's default): a refresh token stays valid until it expires or is
    /// revoked, and a refresh answers without a new one.
    pub enabled: bool,
    /// Seconds (0..=60) during which a rotated token still works once more.
    pub retry_grace_s: u64,
}

/// The `ExplicitAuthFlows` Cognito gives a client created without them.
pub const DEFAULT_AUTH_FLOWS: &[&str] = &[
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
];

impl AppClient {
    /// The client's secrets, oldest first: the stored list, or for a client stored
    /// before that list existed, its one digest (not sealed).
    pub fn secret_records(&self) -> Vec<ClientSecretRecord> {
        match (&self.secret_hash, self.secrets.is_empty()) {
            (Some(hash), true) => vec![ClientSecretRecord {
                id: format!(
                    "{}--{}",
                    self.client_id,
                    self.created_at.saturating_mul(1000)
                ),
                created_at: self.created_at,
                hash: hash.clone(),
                sealed: None,
            }],
            _ => self.secrets.clone(),
        }
    }

    /// Whether the client allows an `ExplicitAuthFlows` flow (`ALLOW_USER_SRP_AUTH`,
    /// ...). A client stored before the field existed has Cognito's defaults; a
    /// legacy name allows its `ALLOW_` counterpart, and refresh, as Cognito's.
    pub fn allows_auth_flow(&self, flow: &str) -> bool {
        let listed: Vec<&str> = if self.explicit_auth_flows.is_empty() {
            DEFAULT_AUTH_FLOWS.to_vec()
        } else {
            self.explicit_auth_flows
                .iter()
                .map(String::as_str)
                .collect()
        };
        listed.iter().any(|f| {
            *f == flow
                || matches!(
                    (*f, flow),
                    ("ADMIN_NO_SRP_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH")
                        | ("USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH")
                        | ("CUSTOM_AUTH_FLOW_ONLY", "ALLOW_CUSTOM_AUTH")
                        | (
                            "ADMIN_NO_SRP_AUTH" | "USER_PASSWORD_AUTH" | "CUSTOM_AUTH_FLOW_ONLY",
                            "ALLOW_REFRESH_TOKEN_AUTH"
                        )
                )
        })
    }
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

/// The type of a provider registration, as Cognito names it (`Google`, `OIDC`,
/// `SAML`, ...). This module lists no kinds: `provider::registry` is the one list, and
/// every name taken from a request or a file goes through it (`registry::type_name`),
/// so a registration can only name a registered kind. A record read back from the
/// store keeps the name it was written with; a kind since removed builds no adapter.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderTypeName(std::borrow::Cow<'static, str>);

impl ProviderTypeName {
    /// The name a registered kind declares. Called by `provider::registry` only (this
    /// layer cannot name it); everything else looks names up there.
    pub(crate) const fn registered(name: &'static str) -> Self {
        Self(std::borrow::Cow::Borrowed(name))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProviderTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ProviderTypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    pub provider_type: ProviderTypeName,
    pub details: serde_json::Map<String, Value>,
    pub attribute_mapping: BTreeMap<String, String>,
    pub idp_identifiers: Vec<String>,
    pub link_by_email: LinkPolicy,
    pub created_at: i64,
    pub updated_at: i64,
    /// A random generation id written anew with every change of the registration: the
    /// version compare-and-set compares (`ProviderStore::replace_provider`). Whole-
    /// second `updated_at` cannot be one: two writes within a second, or a delete and a
    /// re-creation, may share it. Empty in records written before it existed.
    #[serde(default)]
    pub version: String,
}

/// A fresh [`ProviderRecord::version`].
pub fn new_provider_version() -> String {
    crate::secret::random_token(16)
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

impl User {
    /// A user not yet stored: enabled, a fresh UUID as `sub`, no email or attributes.
    pub fn new(pool_id: &str, username: String, now: i64) -> Self {
        Self {
            pool_id: pool_id.to_owned(),
            id: uuid::Uuid::new_v4().to_string(),
            username,
            enabled: true,
            email: None,
            email_norm: None,
            email_verified: false,
            attributes: BTreeMap::new(),
            groups: Vec::new(),
            created_at: now,
            updated_at: now,
            tokens_valid_after: 0,
        }
    }
}

/// One upstream identity linked to a pool user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub pool_id: String,
    pub provider_name: String,
    pub provider_type: ProviderTypeName,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_stored_with_the_retired_cognito_claims_still_reads() {
        let old = r#"{"signing_alg":"ES256","cognito_claims":true,"email_case_sensitive":false}"#;
        let s: PoolSettings = serde_json::from_str(old).unwrap();
        assert_eq!(s.signing_alg, SigningAlg::ES256);
        assert_eq!(s.issuer_style, IssuerStyle::Domain);
        let again = serde_json::to_value(&s).unwrap();
        assert!(again.get("cognito_claims").is_none(), "{again}");
        assert_eq!(s.sp_entity_id("p"), "urn:poolgate:sp:p");
    }

    #[test]
    fn auth_flows_default_as_cognito_and_legacy_names_map() {
        let json = r#"{"pool_id":"p","client_id":"c","name":"n","secret_hash":null,
            "callback_urls":[],"logout_urls":[],"allowed_oauth_flows":[],"allowed_scopes":[],
            "supported_identity_providers":[],"id_token_validity_s":3600,
            "access_token_validity_s":3600,"refresh_token_validity_s":3600,"created_at":0}"#;
        let mut c: AppClient = serde_json::from_str(json).unwrap();
        assert!(
            !c.refresh_token_rotation.enabled,
            "rotation is off by default"
        );
        assert!(c.allows_auth_flow("ALLOW_REFRESH_TOKEN_AUTH"));
        assert!(c.allows_auth_flow("ALLOW_USER_SRP_AUTH"));
        assert!(!c.allows_auth_flow("ALLOW_USER_PASSWORD_AUTH"));
        c.explicit_auth_flows = vec!["USER_PASSWORD_AUTH".into()];
        assert!(c.allows_auth_flow("ALLOW_USER_PASSWORD_AUTH"));
        assert!(c.allows_auth_flow("ALLOW_REFRESH_TOKEN_AUTH"));
        assert!(!c.allows_auth_flow("ALLOW_USER_SRP_AUTH"));
    }
}

/// Cognito's `LambdaConfig` (botocore shape `LambdaConfigType`), field for field, with
/// hook URLs in place of Lambda ARNs. The same keys are the `/admin/v1` pool setting
/// `hooks`; `crate::hooks::config` validates and normalizes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConfig {
    #[serde(rename = "PreSignUp", default, skip_serializing_if = "Option::is_none")]
    pub pre_sign_up: Option<String>,
    #[serde(
        rename = "CustomMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_message: Option<String>,
    #[serde(
        rename = "PostConfirmation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub post_confirmation: Option<String>,
    #[serde(
        rename = "PreAuthentication",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authentication: Option<String>,
    #[serde(
        rename = "PostAuthentication",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub post_authentication: Option<String>,
    /// Custom authentication challenges: accepted by the shape, refused by validation.
    #[serde(
        rename = "DefineAuthChallenge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub define_auth_challenge: Option<String>,
    #[serde(
        rename = "CreateAuthChallenge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub create_auth_challenge: Option<String>,
    #[serde(
        rename = "VerifyAuthChallengeResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub verify_auth_challenge_response: Option<String>,
    /// The legacy form of `PreTokenGenerationConfig` with `LambdaVersion` `V1_0`.
    #[serde(
        rename = "PreTokenGeneration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_token_generation: Option<String>,
    #[serde(
        rename = "UserMigration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_migration: Option<String>,
    #[serde(
        rename = "PreTokenGenerationConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_token_generation_config: Option<VersionedHook>,
    #[serde(
        rename = "CustomSMSSender",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_sms_sender: Option<VersionedHook>,
    #[serde(
        rename = "CustomEmailSender",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_email_sender: Option<VersionedHook>,
    /// Accepted and kept for the Cognito API's sake; codes travel in the signed body.
    #[serde(rename = "KMSKeyID", default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl LambdaConfig {
    pub fn is_empty(&self) -> bool {
        *self == LambdaConfig::default()
    }
}

/// `{"LambdaVersion", "LambdaArn"}` of `PreTokenGenerationConfig` and the custom senders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionedHook {
    #[serde(rename = "LambdaVersion")]
    pub lambda_version: LambdaVersion,
    #[serde(rename = "LambdaArn")]
    pub lambda_arn: String,
}

/// Event versions of the pre-token-generation trigger (and `V1_0` of the senders).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(non_camel_case_types)]
pub enum LambdaVersion {
    V1_0,
    V2_0,
    V3_0,
}

/// A pool's hook secret: redacted in `Debug`, never shown in pool reads.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HookSecret(pub String);

impl fmt::Debug for HookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HookSecret(********)")
    }
}

/// One attribute of a pool's schema, as Cognito's `SchemaAttributeType` describes it,
/// under its full name: a standard one (`email`), `custom:{name}` or `dev:{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct SchemaAttribute {
    pub name: String,
    /// `String`, `Number`, `DateTime` or `Boolean`.
    pub attribute_data_type: String,
    /// Set by administrators only (a `dev:` attribute).
    #[serde(default)]
    pub developer_only_attribute: bool,
    /// `false`: set when the user is created, never changed or removed afterwards.
    pub mutable: bool,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_attribute_constraints: Option<NumberConstraints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_attribute_constraints: Option<StringConstraints>,
}

/// Cognito's `StringAttributeConstraintsType` (lengths written as strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct StringConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<String>,
}

/// Cognito's `NumberAttributeConstraintsType` (bounds written as strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct NumberConstraints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_value: Option<String>,
}
