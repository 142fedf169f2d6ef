//! Login with Amazon (OAuth 2.0, not OpenID Connect): code exchange at
//! api.amazon.com, then the customer profile with the access token as a Bearer token.
//! The subject is `user_id` (`amzn1.account.…`).

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::kind::{
    self, CLIENT_ID, CLIENT_SECRET, COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, GIVE_REDIRECT_URI,
};
use super::protocol::config::{self, EndpointDetails, Endpoints, Flag, Problems, Table, Text};
use super::protocol::http;
use super::protocol::identity_from_claims;
use super::protocol::oauth2;
use super::{
    BeginRequest, BeginResponse, CallbackParams, Provider, ProviderContext, ProviderError,
    ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

const AUTHORIZE: &str = "https://www.amazon.com/ap/oa";
const TOKEN: &str = "https://api.amazon.com/auth/o2/token";
const PROFILE: &str = "https://api.amazon.com/user/profile";
/// The customer-profile scopes Login with Amazon defines.
const SCOPES: &[&str] = &["profile", "profile:user_id", "postal_code"];
/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    authorize_scopes: Text,
    trust_email: Flag,
    endpoints: Table<EndpointDetails>,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "LoginWithAmazon"
    }
    fn button_label(&self) -> Option<&'static str> {
        Some("Login with Amazon")
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "Login with Amazon",
            register_at: "Amazon Developer console, Login with Amazon, your security profile, Web Settings",
            fields: &[CLIENT_ID, CLIENT_SECRET, kind::SCOPES],
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
    fn secret_fields(&self) -> &'static [&'static str] {
        &["client_secret"]
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[("email", "email"), ("name", "name")]
    }
}

struct Settings {
    client_id: String,
    secret: SecretString,
    scopes: Vec<String>,
    trust_email: bool,
    authorize_url: Url,
    token_url: Url,
    profile_url: Url,
}

fn fixed(s: &str) -> Result<Url, Vec<String>> {
    Url::parse(s).map_err(|e| vec![format!("built-in endpoint {s}: {e}")])
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let (client_id, secret) = config::client_credentials(&c.client_id, &c.client_secret, &mut p);
    let scopes = config::scopes(&c.authorize_scopes, "profile", &mut p);
    for s in &scopes {
        if !SCOPES.contains(&s.as_str()) {
            p.add(
                "authorize_scopes",
                format!(
                    "{s:?} is not a Login with Amazon scope (profile, profile:user_id, postal_code)"
                ),
            );
        }
    }
    let trust_email = config::flag(c.trust_email, "trust_email", false, &mut p);
    let e = Endpoints::parse(&c.endpoints, &mut p);
    p.into_result()?;
    Ok(Settings {
        client_id,
        secret,
        scopes,
        trust_email,
        authorize_url: e.authorize_url.map_or_else(|| fixed(AUTHORIZE), Ok)?,
        token_url: e.token_url.map_or_else(|| fixed(TOKEN), Ok)?,
        profile_url: e.userinfo_url.map_or_else(|| fixed(PROFILE), Ok)?,
    })
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    Ok(std::sync::Arc::new(Amazon {
        name: record.name.clone(),
        s,
        ctx: ctx.clone(),
    }))
}

pub struct Amazon {
    name: String,
    s: Settings,
    ctx: ProviderContext,
}

#[async_trait]
impl Provider for Amazon {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static dyn ProviderKind {
        &Kind
    }
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError> {
        // Login with Amazon supports PKCE (S256) on the authorization code grant.
        oauth2::redirect_begin(
            &self.s.authorize_url,
            &self.s.client_id,
            req.redirect_uri,
            req.state,
            true,
            self.s.scopes.join(" "),
        )
    }

    async fn complete(
        &self,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let tokens = oauth2::complete_code_post(
            &self.ctx.http,
            params,
            st,
            &self.s.token_url,
            redirect_uri,
            &self.s.client_id,
            self.s.secret.expose_secret(),
        )
        .await?;
        let profile = http::get_json(
            self.ctx
                .http
                .get(self.s.profile_url.clone())
                .bearer_auth(&tokens.access_token),
            "amazon profile",
        )
        .await?;
        let mut id = identity_from_claims(profile, "user_id", None);
        if id.subject.is_empty() {
            return Err(ProviderError::Rejected(
                "amazon profile has no user_id".into(),
            ));
        }
        // Amazon asserts nothing about the email's ownership.
        id.email_verified = self.s.trust_email && id.email.is_some();
        Ok(id)
    }
}
