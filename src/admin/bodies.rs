//! Admin request bodies (unknown fields refused) and their validation into records.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::MASK;
use crate::config::is_loopback_host;
use crate::model::{
    AppClient, Branding, LinkPolicy, OAuthFlow, PoolSettings, ProviderRecord, RefreshRotation,
    ResourceScope,
};
use crate::provider::registry;
use crate::token::claims;

/// Scopes every client may be given besides resource-server scopes.
pub const STANDARD_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "phone",
    "aws.cognito.signin.user.admin",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolBody {
    pub id: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub settings: PoolSettings,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolPatch {
    pub settings: Option<serde_json::Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    pub name: String,
    #[serde(default)]
    pub generate_secret: bool,
    #[serde(default)]
    pub callback_urls: Vec<String>,
    #[serde(default)]
    pub logout_urls: Vec<String>,
    #[serde(default = "default_flows")]
    pub allowed_oauth_flows: Vec<OAuthFlow>,
    #[serde(default = "default_scopes")]
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub supported_identity_providers: Vec<String>,
    pub id_token_validity_s: Option<u64>,
    pub access_token_validity_s: Option<u64>,
    pub refresh_token_validity_s: Option<u64>,
    #[serde(default)]
    pub branding: Branding,
    #[serde(default)]
    pub refresh_token_rotation: RefreshRotation,
    #[serde(default = "default_auth_flows")]
    pub explicit_auth_flows: Vec<String>,
}

/// PATCH of a client: every field optional; the secret cannot be changed here.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub callback_urls: Option<Vec<String>>,
    pub logout_urls: Option<Vec<String>>,
    pub allowed_oauth_flows: Option<Vec<OAuthFlow>>,
    pub allowed_scopes: Option<Vec<String>>,
    pub supported_identity_providers: Option<Vec<String>>,
    pub id_token_validity_s: Option<u64>,
    pub access_token_validity_s: Option<u64>,
    pub refresh_token_validity_s: Option<u64>,
    pub branding: Option<Branding>,
    pub refresh_token_rotation: Option<RefreshRotation>,
    pub explicit_auth_flows: Option<Vec<String>>,
}

/// Cognito's `ExplicitAuthFlows` names: the `ALLOW_` ones, and the legacy ones that
/// cannot be mixed with them.
pub const AUTH_FLOWS: &[&str] = &[
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_AUTH",
];
pub const LEGACY_AUTH_FLOWS: &[&str] = &[
    "ADMIN_NO_SRP_AUTH",
    "CUSTOM_AUTH_FLOW_ONLY",
    "USER_PASSWORD_AUTH",
];

/// What Cognito gives a client created without `ExplicitAuthFlows`.
pub fn default_auth_flows() -> Vec<String> {
    crate::model::DEFAULT_AUTH_FLOWS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

fn default_flows() -> Vec<OAuthFlow> {
    vec![OAuthFlow::Code]
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

impl ClientBody {
    pub fn into_client(
        self,
        pool: &str,
        client_id: String,
        secret_hash: Option<String>,
        now: i64,
    ) -> AppClient {
        AppClient {
            pool_id: pool.to_owned(),
            client_id,
            name: self.name,
            secret_hash,
            callback_urls: self.callback_urls,
            logout_urls: self.logout_urls,
            allowed_oauth_flows: self.allowed_oauth_flows,
            allowed_scopes: self.allowed_scopes,
            supported_identity_providers: self.supported_identity_providers,
            id_token_validity_s: self.id_token_validity_s.unwrap_or(3600),
            access_token_validity_s: self.access_token_validity_s.unwrap_or(3600),
            refresh_token_validity_s: self.refresh_token_validity_s.unwrap_or(30 * 86_400),
            branding: self.branding,
            refresh_token_rotation: self.refresh_token_rotation,
            explicit_auth_flows: self.explicit_auth_flows,
            created_at: now,
            secrets: Vec::new(),
        }
    }
}

impl ClientPatch {
    pub fn apply(self, c: &mut AppClient) {
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.callback_urls {
            c.callback_urls = v;
        }
        if let Some(v) = self.logout_urls {
            c.logout_urls = v;
        }
        if let Some(v) = self.allowed_oauth_flows {
            c.allowed_oauth_flows = v;
        }
        if let Some(v) = self.allowed_scopes {
            c.allowed_scopes = v;
        }
        if let Some(v) = self.supported_identity_providers {
            c.supported_identity_providers = v;
        }
        if let Some(v) = self.id_token_validity_s {
            c.id_token_validity_s = v;
        }
        if let Some(v) = self.access_token_validity_s {
            c.access_token_validity_s = v;
        }
        if let Some(v) = self.refresh_token_validity_s {
            c.refresh_token_validity_s = v;
        }
        if let Some(v) = self.branding {
            c.branding = v;
        }
        if let Some(v) = self.refresh_token_rotation {
            c.refresh_token_rotation = v;
        }
        if let Some(v) = self.explicit_auth_flows {
            c.explicit_auth_flows = v;
        }
    }
}

/// A redirect target an app may register: absolute, no fragment, `http` only on
/// loopback (custom schemes of native apps allowed, as Cognito does).
fn valid_app_url(u: &str) -> bool {
    match Url::parse(u) {
        Ok(url) if url.fragment().is_some() || u.len() > 1024 => false,
        Ok(url) if url.scheme() == "http" => url.host_str().is_some_and(is_loopback_host),
        Ok(url) if url.scheme() == "https" => url.host_str().is_some(),
        Ok(url) => !matches!(url.scheme(), "javascript" | "data" | "file" | "vbscript"),
        Err(_) => false,
    }
}

/// Checks a client against the pool's providers and resource-server scopes.
pub fn validate_client(
    c: &AppClient,
    providers: &[String],
    rs_scopes: &[String],
) -> Result<(), Vec<String>> {
    let mut e = Vec::new();
    if c.name.trim().is_empty() || c.name.len() > 128 {
        e.push("name: required, at most 128 characters".to_owned());
    }
    for u in &c.callback_urls {
        if !valid_app_url(u) {
            e.push(format!("callback_urls: {u:?} is not allowed (absolute URL, https or loopback http, no fragment)"));
        }
    }
    for u in &c.logout_urls {
        if !valid_app_url(u) {
            e.push(format!("logout_urls: {u:?} is not allowed"));
        }
    }
    if c.allowed_oauth_flows.contains(&OAuthFlow::Code) && c.callback_urls.is_empty() {
        e.push("callback_urls: the code flow needs at least one".to_owned());
    }
    if c.allowed_oauth_flows.contains(&OAuthFlow::Implicit) {
        e.push("allowed_oauth_flows: implicit is not supported (use code with PKCE)".to_owned());
    }
    if c.allowed_oauth_flows
        .contains(&OAuthFlow::ClientCredentials)
        && c.secret_hash.is_none()
    {
        e.push("allowed_oauth_flows: client_credentials needs a client secret".to_owned());
    }
    for s in &c.allowed_scopes {
        if !STANDARD_SCOPES.contains(&s.as_str()) && !rs_scopes.contains(s) {
            e.push(format!("allowed_scopes: unknown scope {s:?}"));
        }
    }
    for p in &c.supported_identity_providers {
        if !providers.contains(p) && p != crate::model::NATIVE_PROVIDER {
            e.push(format!(
                "supported_identity_providers: no provider named {p:?} in this pool"
            ));
        }
    }
    let range = |v: u64, lo: u64, hi: u64, k: &str, e: &mut Vec<String>| {
        if !(lo..=hi).contains(&v) {
            e.push(format!("{k}: must be between {lo} and {hi} seconds"));
        }
    };
    range(
        c.id_token_validity_s,
        300,
        86_400,
        "id_token_validity_s",
        &mut e,
    );
    range(
        c.access_token_validity_s,
        300,
        86_400,
        "access_token_validity_s",
        &mut e,
    );
    range(
        c.refresh_token_validity_s,
        3_600,
        315_360_000,
        "refresh_token_validity_s",
        &mut e,
    );
    if let Some(col) = &c.branding.primary_color
        && !(col.len() == 7
            && col.starts_with('#')
            && col[1..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        e.push("branding.primary_color: must be #rrggbb".to_owned());
    }
    if c.branding
        .css
        .as_ref()
        .is_some_and(|css| css.len() > 20_000)
    {
        e.push("branding.css: at most 20000 characters".to_owned());
    }
    if let Some(logo) = &c.branding.logo_url
        && !Url::parse(logo).is_ok_and(|u| u.scheme() == "https")
    {
        e.push("branding.logo_url: must be an https URL".to_owned());
    }
    if c.refresh_token_rotation.retry_grace_s > 60 {
        e.push("refresh_token_rotation.retry_grace_s: must be between 0 and 60 seconds".to_owned());
    }
    for f in &c.explicit_auth_flows {
        if !AUTH_FLOWS.contains(&f.as_str()) && !LEGACY_AUTH_FLOWS.contains(&f.as_str()) {
            e.push(format!("explicit_auth_flows: unknown flow {f:?}"));
        }
    }
    let legacy = |f: &String| LEGACY_AUTH_FLOWS.contains(&f.as_str());
    if c.explicit_auth_flows.iter().any(legacy) && !c.explicit_auth_flows.iter().all(legacy) {
        e.push(
            "explicit_auth_flows: the legacy names cannot be mixed with the ALLOW_ ones".to_owned(),
        );
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}

/// Checks the pool attributes an `attribute_mapping` writes: standard OIDC attributes
/// and `custom:*` only, never a claim the gateway writes itself (interface.md
/// section 5).
pub fn validate_mapping(mapping: &BTreeMap<String, String>) -> Vec<String> {
    let mut e = Vec::new();
    for (k, v) in mapping {
        let custom = k
            .strip_prefix("custom:")
            .is_some_and(|n| !n.is_empty() && n.len() <= 20);
        if claims::is_reserved(k) {
            e.push(format!(
                "attribute_mapping: {k:?} is a reserved claim and cannot be mapped"
            ));
        } else if !custom && !claims::STANDARD_ATTRIBUTES.contains(&k.as_str()) {
            e.push(format!(
                "attribute_mapping: {k:?} is neither a standard attribute nor custom:<name> (1 to 20 characters)"
            ));
        }
        if v.trim().is_empty() || v.len() > 256 {
            e.push(format!(
                "attribute_mapping: the provider attribute of {k:?} must be 1 to 256 characters"
            ));
        }
    }
    e
}

/// Refuses the retired `cognito_claims` in settings an admin sent (a pool stored with
/// it still loads; it is dropped when the pool is next written).
pub fn refuse_retired(s: &PoolSettings) -> Result<(), Vec<String>> {
    if s.cognito_claims.is_some() {
        return Err(vec![
            "settings.cognito_claims: retired; cognito:username and cognito:groups are always issued"
                .to_owned(),
        ]);
    }
    Ok(())
}

/// Checks pool settings: the SP entity ID is a URI (`urn:` or `http(s)`).
pub fn validate_settings(s: &PoolSettings) -> Result<(), Vec<String>> {
    let mut e = Vec::new();
    if let Some(id) = &s.sp_entity_id {
        let ok = id.len() <= 1024
            && !id.chars().any(|c| c.is_whitespace() || c.is_control())
            && (id.starts_with("urn:")
                || Url::parse(id).is_ok_and(|u| matches!(u.scheme(), "https" | "http")));
        if !ok {
            e.push(
                "settings.sp_entity_id: must be a urn: or http(s) URI, at most 1024 characters"
                    .to_owned(),
            );
        }
    }
    e.extend(super::tags::problems(&s.tags));
    e.extend(crate::flow::native::deliver::template_problems(s));
    e.extend(crate::flow::native::sms::mfa_problems(s));
    e.extend(crate::flow::native::aliases::problems(s));
    if let Some(schema) = &s.schema {
        e.extend(crate::flow::native::attributes::schema_problems(schema));
    }
    if e.is_empty() { Ok(()) } else { Err(e) }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    /// The kind's type name, checked against the registry by `into_record`.
    #[serde(rename = "type")]
    pub provider_type: String,
    #[serde(default)]
    pub details: serde_json::Map<String, Value>,
    #[serde(default)]
    pub attribute_mapping: BTreeMap<String, String>,
    #[serde(default)]
    pub idp_identifiers: Vec<String>,
    #[serde(default)]
    pub link_by_email: LinkPolicy,
}

impl ProviderBody {
    /// Builds and validates the record. A detail sent as the mask keeps the previous
    /// value (so a GET, edit, PUT round trip does not erase secrets).
    pub fn into_record(
        mut self,
        pool: &str,
        name: &str,
        previous: Option<&ProviderRecord>,
        now: i64,
    ) -> Result<ProviderRecord, Vec<String>> {
        let Some(provider_type) = registry::type_name(&self.provider_type) else {
            return Err(vec![format!(
                "type: {:?} is not a provider type (one of {})",
                self.provider_type,
                registry::type_names().join(", ")
            )]);
        };
        if let Some(prev) = previous.filter(|p| p.provider_type == provider_type) {
            for (k, v) in self.details.iter_mut() {
                if v.as_str() == Some(MASK)
                    && let Some(old) = prev.details.get(k)
                {
                    *v = old.clone();
                }
            }
        }
        let mut errors = validate_mapping(&self.attribute_mapping);
        if !super::valid_provider_name(name) {
            errors.push("name: 1 to 32 characters, no spaces or '/'".to_owned());
        }
        for i in &self.idp_identifiers {
            if i.trim().is_empty() || i.len() > 253 {
                errors.push(format!("idp_identifiers: {i:?} is not a valid identifier"));
            }
        }
        let record = ProviderRecord {
            pool_id: pool.to_owned(),
            name: name.to_owned(),
            provider_type,
            details: self.details,
            attribute_mapping: self.attribute_mapping,
            idp_identifiers: self
                .idp_identifiers
                .iter()
                .map(|i| i.trim().to_ascii_lowercase())
                .collect(),
            link_by_email: self.link_by_email,
            created_at: previous.map_or(now, |p| p.created_at),
            updated_at: now.max(previous.map_or(0, |p| p.updated_at + 1)),
            version: crate::model::new_provider_version(),
        };
        if let Err(mut e) = registry::validate(&record) {
            errors.append(&mut e);
        }
        if errors.is_empty() {
            Ok(record)
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceServerBody {
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<ResourceScope>,
}

/// A custom domain of a pool, optionally with its TLS certificate and key (PEM).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainBody {
    pub certificate_pem: Option<String>,
    pub private_key_pem: Option<String>,
}

/// Links an upstream identity to an existing user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub provider: String,
    pub subject: String,
}
