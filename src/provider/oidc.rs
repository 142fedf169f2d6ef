//! The generic OpenID Connect adapter: any provider with discovery or explicit endpoints,
//! code flow with PKCE, state and nonce, verified id_token, userinfo merged.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use super::protocol::assertion::ClientKey;
use super::protocol::config::{self, Endpoints, Problems};
use super::protocol::oauth2::TokenAuth;
use super::protocol::oidc::{Credential, EndpointConfig, RelyingParty, RpConfig, merged_claims};
use super::protocol::{claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, NativeSignIn, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::{ProviderRecord, ProviderType};

const KNOWN: &[&str] = &[
    "client_id",
    "client_secret",
    "issuer",
    "authorize_url",
    "token_url",
    "userinfo_url",
    "jwks_uri",
    "authorize_scopes",
    "attributes_request_method",
    "token_endpoint_auth_method",
    "native_client_ids",
    "private_key",
    "private_key_id",
    "certificate",
    "next_private_key",
    "endpoints",
    // Cognito's spellings, accepted so a Cognito ProviderDetails body registers as is.
    "oidc_issuer",
    "attributes_url",
    "attributes_url_add_attributes",
];

pub struct Kind;
impl ProviderKind for Kind {
    fn secret_fields(&self) -> &'static [&'static str] {
        &["client_secret", "private_key", "next_private_key"]
    }
    fn public_details(&self, details: &Map<String, Value>) -> Option<Value> {
        public_jwks(details)
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("email", "email"),
            ("email_verified", "email_verified"),
            ("name", "name"),
            ("given_name", "given_name"),
            ("family_name", "family_name"),
            ("picture", "picture"),
        ]
    }
}

struct Settings {
    rp: RpConfig,
    secret: SecretString,
    native_ids: Vec<String>,
    key: Option<ClientKey>,
}

/// `private_key_jwt`: the signing key, and the next one being registered (rotation).
fn client_key(d: &Map<String, Value>, field: &str, p: &mut Problems) -> Option<ClientKey> {
    let pem = config::optional(d, field, p)?;
    let kid = if field == "private_key" {
        config::optional(d, "private_key_id", p)
    } else {
        None
    };
    let cert = if field == "private_key" {
        config::optional(d, "certificate", p)
    } else {
        None
    };
    match ClientKey::from_pem(pem, kid, cert) {
        Ok(k) => Some(k),
        Err(e) => {
            p.add(field, e);
            None
        }
    }
}

/// The public JWKs to register at the IdP for `private_key_jwt`: the signing key and,
/// during a rotation, the next one (shown by the admin API).
pub fn public_jwks(d: &Map<String, Value>) -> Option<Value> {
    let mut p = Problems::default();
    let keys: Vec<Value> = ["private_key", "next_private_key"]
        .iter()
        .filter_map(|f| client_key(d, f, &mut p))
        .map(|k| k.public_jwk())
        .collect();
    (!keys.is_empty()).then(|| serde_json::json!({ "keys": keys }))
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let d = &record.details;
    let mut p = Problems::default();
    config::unknown_keys(d, KNOWN, &mut p);
    let client_id = config::required(d, "client_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let key_jwt =
        config::optional(d, "token_endpoint_auth_method", &mut p) == Some("private_key_jwt");
    let key = client_key(d, "private_key", &mut p);
    client_key(d, "next_private_key", &mut p);
    let secret = if key_jwt {
        if key.is_none() && !d.contains_key("private_key") {
            p.add("private_key", "is required with private_key_jwt");
        }
        config::optional(d, "client_secret", &mut p).unwrap_or("")
    } else {
        config::required(d, "client_secret", &mut p).unwrap_or("")
    }
    .to_owned();
    let over = Endpoints::parse(d, &mut p);
    let issuer = config::optional_url(d, "issuer", "issuer", &mut p)
        .or_else(|| config::optional_url(d, "oidc_issuer", "oidc_issuer", &mut p))
        .or(over.issuer);
    if issuer.is_none() && !d.contains_key("issuer") && !d.contains_key("oidc_issuer") {
        p.add(
            "issuer",
            "is required (the id_token's iss, and the discovery base)",
        );
    }
    let endpoints = EndpointConfig {
        discover: false,
        authorize_url: config::optional_url(d, "authorize_url", "authorize_url", &mut p)
            .or(over.authorize_url),
        token_url: config::optional_url(d, "token_url", "token_url", &mut p).or(over.token_url),
        userinfo_url: config::optional_url(d, "userinfo_url", "userinfo_url", &mut p)
            .or_else(|| config::optional_url(d, "attributes_url", "attributes_url", &mut p))
            .or(over.userinfo_url),
        jwks_uri: config::optional_url(d, "jwks_uri", "jwks_uri", &mut p).or(over.jwks_uri),
    };
    // Discovery unless every endpoint the flow needs is given explicitly.
    let discover = endpoints.authorize_url.is_none()
        || endpoints.token_url.is_none()
        || endpoints.jwks_uri.is_none();
    let scopes = config::scopes(d, "openid email profile", &mut p);
    if !scopes.iter().any(|s| s == "openid") {
        p.add("authorize_scopes", "must include openid");
    }
    let userinfo_post = match config::optional(d, "attributes_request_method", &mut p) {
        None => false,
        Some(m) if m.eq_ignore_ascii_case("GET") => false,
        Some(m) if m.eq_ignore_ascii_case("POST") => true,
        Some(_) => {
            p.add("attributes_request_method", "must be GET or POST");
            false
        }
    };
    let auth = match config::optional(d, "token_endpoint_auth_method", &mut p) {
        None | Some("private_key_jwt") => TokenAuth::Basic,
        Some(m) => TokenAuth::parse(m).unwrap_or_else(|| {
            p.add(
                "token_endpoint_auth_method",
                "must be client_secret_basic, client_secret_post or private_key_jwt",
            );
            TokenAuth::Basic
        }),
    };
    let native_ids = config::string_list(d, "native_client_ids", &mut p);
    p.into_result()?;
    // A host-only issuer may be written with or without the trailing slash; the URL
    // parser cannot tell which the provider uses in `iss`, so both are accepted.
    let root = issuer.as_ref().is_some_and(|u| u.path() == "/");
    let issuer = issuer
        .map(|u| config::issuer_string(&u))
        .unwrap_or_default();
    let extra_issuers = if root {
        vec![format!("{issuer}/")]
    } else {
        Vec::new()
    };
    Ok(Settings {
        rp: RpConfig {
            client_id,
            issuer,
            extra_issuers,
            endpoints: EndpointConfig {
                discover,
                ..endpoints
            },
            scopes,
            auth,
            userinfo_post: Some(userinfo_post),
            pkce: true,
        },
        secret: SecretString::from(secret),
        native_ids,
        key: if key_jwt { key } else { None },
    })
}

pub fn validate(record: &ProviderRecord) -> Result<(), Vec<String>> {
    parse(record).map(|_| ())
}

pub fn build(
    record: &ProviderRecord,
    ctx: &ProviderContext,
) -> Result<SharedProvider, ProviderError> {
    let s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    Ok(std::sync::Arc::new(Oidc {
        name: record.name.clone(),
        rp: RelyingParty::new(s.rp, ctx),
        secret: s.secret,
        native_ids: s.native_ids,
        key: s.key,
    }))
}

pub struct Oidc {
    name: String,
    rp: RelyingParty,
    secret: SecretString,
    native_ids: Vec<String>,
    key: Option<ClientKey>,
}

#[async_trait]
impl NativeSignIn for Oidc {
    async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let v = self
            .rp
            .verify_native(id_token, &self.native_ids, nonce)
            .await?;
        let issuer = claim_str(&v.claims, "iss");
        Ok(identity_from_claims(merged_claims(&v), "sub", issuer))
    }
}

#[async_trait]
impl Provider for Oidc {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider_type(&self) -> ProviderType {
        ProviderType::OIDC
    }
    fn native(&self) -> Option<&dyn NativeSignIn> {
        Some(self)
    }
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError> {
        self.rp.begin(req, &[]).await
    }
    async fn complete(
        &self,
        params: &CallbackParams,
        state: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let credential = match &self.key {
            Some(k) => Credential::Key(k),
            None => Credential::Secret(self.secret.expose_secret()),
        };
        let v = self
            .rp
            .complete_with(params, state, redirect_uri, credential)
            .await?;
        let issuer = claim_str(&v.claims, "iss");
        Ok(identity_from_claims(merged_claims(&v), "sub", issuer))
    }
}
