//! The generic OpenID Connect adapter: any provider with discovery or explicit endpoints,
//! code flow with PKCE, state and nonce, verified id_token, userinfo merged.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::kind::{CLIENT_ID, CLIENT_SECRET, ConsoleForm, FormField, GIVE_REDIRECT_URI, SCOPES};
use super::protocol::assertion::ClientKey;
use super::protocol::config::{
    self, EndpointDetails, Endpoints, Ignored, Problems, Table, Text, Words,
};
use super::protocol::oauth2::TokenAuth;
use super::protocol::oidc::{Credential, EndpointConfig, RelyingParty, RpConfig, merged_claims};
use super::protocol::{claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, NativeSignIn, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    issuer: Text,
    authorize_url: Text,
    token_url: Text,
    userinfo_url: Text,
    jwks_uri: Text,
    authorize_scopes: Text,
    attributes_request_method: Text,
    token_endpoint_auth_method: Text,
    native_client_ids: Words,
    private_key: Text,
    private_key_id: Text,
    certificate: Text,
    next_private_key: Text,
    endpoints: Table<EndpointDetails>,
    /// Cognito's spellings, accepted so a Cognito ProviderDetails body registers as is.
    oidc_issuer: Text,
    attributes_url: Text,
    /// Described by Cognito; no setting here.
    attributes_url_add_attributes: Ignored,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "OIDC"
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "OpenID Connect",
            register_at: "your identity provider's app registration (Okta, Entra ID, Keycloak, AD FS, ...)",
            fields: &[
                FormField::new(
                    "issuer",
                    "Issuer URL",
                    "The provider's issuer; its /.well-known/openid-configuration is read from there.",
                    "text",
                    true,
                ),
                CLIENT_ID,
                CLIENT_SECRET,
                SCOPES,
            ],
            give: GIVE_REDIRECT_URI,
        };
        &FORM
    }
    fn validate(&self, record: &ProviderRecord) -> Result<(), Vec<String>> {
        parse(record).map(|_| ())
    }
    fn build(
        &self,
        record: &ProviderRecord,
        ctx: &ProviderContext,
    ) -> Result<SharedProvider, ProviderError> {
        build(record, ctx)
    }
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
fn client_key(c: &Config, field: &str, p: &mut Problems) -> Option<ClientKey> {
    let pem = if field == "private_key" {
        &c.private_key
    } else {
        &c.next_private_key
    };
    let pem = config::optional(pem, field, p)?;
    let kid = if field == "private_key" {
        config::optional(&c.private_key_id, "private_key_id", p)
    } else {
        None
    };
    let cert = if field == "private_key" {
        config::optional(&c.certificate, "certificate", p)
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
    let c: Config = config::typed(d, &mut p);
    let keys: Vec<Value> = ["private_key", "next_private_key"]
        .iter()
        .filter_map(|f| client_key(&c, f, &mut p))
        .map(|k| k.public_jwk())
        .collect();
    (!keys.is_empty()).then(|| serde_json::json!({ "keys": keys }))
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let client_id = config::required(&c.client_id, "client_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let key_jwt = config::optional(
        &c.token_endpoint_auth_method,
        "token_endpoint_auth_method",
        &mut p,
    ) == Some("private_key_jwt");
    let key = client_key(&c, "private_key", &mut p);
    client_key(&c, "next_private_key", &mut p);
    let secret = if key_jwt {
        if key.is_none() && !c.private_key.is_written() {
            p.add("private_key", "is required with private_key_jwt");
        }
        config::optional(&c.client_secret, "client_secret", &mut p).unwrap_or("")
    } else {
        config::required(&c.client_secret, "client_secret", &mut p).unwrap_or("")
    }
    .to_owned();
    let over = Endpoints::parse(&c.endpoints, &mut p);
    let issuer = config::optional_url(&c.issuer, "issuer", &mut p)
        .or_else(|| config::optional_url(&c.oidc_issuer, "oidc_issuer", &mut p))
        .or(over.issuer);
    if issuer.is_none() && !c.issuer.is_written() && !c.oidc_issuer.is_written() {
        p.add(
            "issuer",
            "is required (the id_token's iss, and the discovery base)",
        );
    }
    let endpoints = EndpointConfig {
        discover: false,
        authorize_url: config::optional_url(&c.authorize_url, "authorize_url", &mut p)
            .or(over.authorize_url),
        token_url: config::optional_url(&c.token_url, "token_url", &mut p).or(over.token_url),
        userinfo_url: config::optional_url(&c.userinfo_url, "userinfo_url", &mut p)
            .or_else(|| config::optional_url(&c.attributes_url, "attributes_url", &mut p))
            .or(over.userinfo_url),
        jwks_uri: config::optional_url(&c.jwks_uri, "jwks_uri", &mut p).or(over.jwks_uri),
    };
    // Discovery unless every endpoint the flow needs is given explicitly.
    let discover = endpoints.authorize_url.is_none()
        || endpoints.token_url.is_none()
        || endpoints.jwks_uri.is_none();
    let scopes = config::scopes(&c.authorize_scopes, "openid email profile", &mut p);
    if !scopes.iter().any(|s| s == "openid") {
        p.add("authorize_scopes", "must include openid");
    }
    let userinfo_post = match config::optional(
        &c.attributes_request_method,
        "attributes_request_method",
        &mut p,
    ) {
        None => false,
        Some(m) if m.eq_ignore_ascii_case("GET") => false,
        Some(m) if m.eq_ignore_ascii_case("POST") => true,
        Some(_) => {
            p.add("attributes_request_method", "must be GET or POST");
            false
        }
    };
    let auth = match config::optional(
        &c.token_endpoint_auth_method,
        "token_endpoint_auth_method",
        &mut p,
    ) {
        None | Some("private_key_jwt") => TokenAuth::Basic,
        Some(m) => TokenAuth::parse(m).unwrap_or_else(|| {
            p.add(
                "token_endpoint_auth_method",
                "must be client_secret_basic, client_secret_post or private_key_jwt",
            );
            TokenAuth::Basic
        }),
    };
    let native_ids = config::string_list(&c.native_client_ids, "native_client_ids", &mut p);
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

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
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
    fn kind(&self) -> &'static dyn ProviderKind {
        &Kind
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
