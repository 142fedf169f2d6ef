//! Google (OpenID Connect): discovery at accounts.google.com, both issuer spellings
//! accepted, and `hosted_domain` enforced on the id_token's `hd` claim, because the `hd`
//! request parameter alone is only a hint to Google's account chooser.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::kind::{
    CLIENT_ID, CLIENT_SECRET, COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, FormField, GIVE_REDIRECT_URI,
    SCOPES,
};
use super::protocol::config::{self, EndpointDetails, Endpoints, Problems, Table, Text, Words};
use super::protocol::oauth2::TokenAuth;
use super::protocol::oidc::{EndpointConfig, RelyingParty, RpConfig, Verified, merged_claims};
use super::protocol::{claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, NativeSignIn, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

pub const ISSUER: &str = "https://accounts.google.com";
/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    authorize_scopes: Text,
    hosted_domain: Text,
    native_client_ids: Words,
    endpoints: Table<EndpointDetails>,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "Google"
    }
    fn button_label(&self) -> Option<&'static str> {
        Some("Continue with Google")
    }
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
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "Google",
            register_at: "Google Cloud console, APIs & Services, Credentials, OAuth client ID (Web application)",
            fields: &[
                CLIENT_ID,
                CLIENT_SECRET,
                SCOPES,
                FormField::new(
                    "hosted_domain",
                    "Workspace domain",
                    "Only accounts of this Google Workspace domain may sign in.",
                    "text",
                    false,
                ),
            ],
            give: GIVE_REDIRECT_URI,
        };
        &FORM
    }
    fn cognito_described_only(&self) -> &'static [&'static str] {
        COGNITO_SOCIAL_ENDPOINTS
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
}

struct Settings {
    rp: RpConfig,
    secret: SecretString,
    hosted_domain: Option<String>,
    native_ids: Vec<String>,
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let (client_id, secret) = config::client_credentials(&c.client_id, &c.client_secret, &mut p);
    let scopes = config::scopes(&c.authorize_scopes, "openid email profile", &mut p);
    if !scopes.iter().any(|s| s == "openid") {
        p.add("authorize_scopes", "must include openid");
    }
    let hosted_domain =
        config::optional(&c.hosted_domain, "hosted_domain", &mut p).map(str::to_ascii_lowercase);
    if let Some(hd) = &hosted_domain {
        let ok = hd == "*"
            || (hd.contains('.')
                && hd
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
        if !ok {
            p.add(
                "hosted_domain",
                "must be a domain name (or * for any Workspace domain)",
            );
        }
    }
    let native_ids = config::string_list(&c.native_client_ids, "native_client_ids", &mut p);
    let e = Endpoints::parse(&c.endpoints, &mut p);
    p.into_result()?;
    let issuer = e
        .issuer
        .as_ref()
        .map(config::issuer_string)
        .unwrap_or_else(|| ISSUER.to_owned());
    // Google also writes `iss` without the scheme (`accounts.google.com`); the same
    // rule applies to an overridden issuer.
    let legacy = issuer
        .split_once("://")
        .map(|(_, rest)| rest.to_owned())
        .into_iter()
        .collect();
    Ok(Settings {
        rp: RpConfig {
            client_id,
            issuer,
            extra_issuers: legacy,
            endpoints: EndpointConfig {
                discover: true,
                authorize_url: e.authorize_url,
                token_url: e.token_url,
                userinfo_url: e.userinfo_url,
                jwks_uri: e.jwks_uri,
            },
            scopes,
            auth: TokenAuth::Basic,
            userinfo_post: Some(false),
            pkce: true,
        },
        secret,
        hosted_domain,
        native_ids,
    })
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    Ok(std::sync::Arc::new(Google {
        name: record.name.clone(),
        rp: RelyingParty::new(s.rp, ctx),
        secret: s.secret,
        hosted_domain: s.hosted_domain,
        native_ids: s.native_ids,
    }))
}

pub struct Google {
    name: String,
    rp: RelyingParty,
    secret: SecretString,
    hosted_domain: Option<String>,
    native_ids: Vec<String>,
}

impl Google {
    /// The `hd` check and the identity, the same for a browser sign-in and an exchange.
    fn identity(&self, v: &Verified) -> Result<UpstreamIdentity, ProviderError> {
        if let Some(want) = &self.hosted_domain {
            // The signed `hd` claim is the only proof of a Workspace account's domain.
            let got = claim_str(&v.claims, "hd").map(|s| s.to_ascii_lowercase());
            let ok = match got.as_deref() {
                Some(got) => want == "*" || got == want,
                None => false,
            };
            if !ok {
                return Err(ProviderError::Rejected(
                    "id_token hd claim is not the hosted domain".into(),
                ));
            }
        }
        // One spelling for the `identities` claim, whichever one Google wrote.
        let issuer = Some(self.rp.cfg.issuer.clone());
        Ok(identity_from_claims(merged_claims(v), "sub", issuer))
    }
}

#[async_trait]
impl NativeSignIn for Google {
    async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let v = self
            .rp
            .verify_native(id_token, &self.native_ids, nonce)
            .await?;
        self.identity(&v)
    }
}

#[async_trait]
impl Provider for Google {
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
        match &self.hosted_domain {
            Some(hd) => self.rp.begin(req, &[("hd", hd)]).await,
            None => self.rp.begin(req, &[]).await,
        }
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
        self.identity(&v)
    }
}
