//! The generic OpenID Connect adapter: any provider with discovery or explicit endpoints,
//! code flow with PKCE, state and nonce, verified id_token, userinfo merged.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::protocol::config::{self, Endpoints, Problems};
use super::protocol::oauth2::TokenAuth;
use super::protocol::oidc::{EndpointConfig, RelyingParty, RpConfig, merged_claims};
use super::protocol::{claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, Provider, ProviderContext, ProviderError,
    ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
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
    "endpoints",
    // Cognito's spellings, accepted so a Cognito ProviderDetails body registers as is.
    "oidc_issuer",
    "attributes_url",
    "attributes_url_add_attributes",
];

pub struct Kind;
impl ProviderKind for Kind {
    fn secret_fields(&self) -> &'static [&'static str] {
        &["client_secret"]
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
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let d = &record.details;
    let mut p = Problems::default();
    config::unknown_keys(d, KNOWN, &mut p);
    let client_id = config::required(d, "client_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let secret = config::required(d, "client_secret", &mut p)
        .unwrap_or("")
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
        None => TokenAuth::Basic,
        Some(m) => TokenAuth::parse(m).unwrap_or_else(|| {
            p.add(
                "token_endpoint_auth_method",
                "must be client_secret_basic or client_secret_post",
            );
            TokenAuth::Basic
        }),
    };
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
    }))
}

pub struct Oidc {
    name: String,
    rp: RelyingParty,
    secret: SecretString,
}

#[async_trait]
impl Provider for Oidc {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider_type(&self) -> ProviderType {
        ProviderType::OIDC
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
        let v = self
            .rp
            .complete(params, state, redirect_uri, self.secret.expose_secret())
            .await?;
        let issuer = claim_str(&v.claims, "iss");
        Ok(identity_from_claims(merged_claims(&v), "sub", issuer))
    }
}
