//! The generic OAuth 2.0 kind (interface.md section 10): any provider that is not
//! OpenID Connect. Code flow over the `oauth2` crate (`protocol::plain`), then the
//! userinfo JSON with the access token; the subject is `subject_attribute` (a dotted
//! path, default `id`). Without an id_token nothing vouches for the email, so it is
//! unverified unless `trust_email` is set or `email_verified` is mapped from one of the
//! provider's own attributes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::kind::{
    CLIENT_ID, CLIENT_SECRET, COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, FormField, GIVE_REDIRECT_URI,
    SCOPES,
};
use super::protocol::config::{self, Flag, Problems, Text};
use super::protocol::http;
use super::protocol::oauth2::TokenAuth;
use super::protocol::plain::PlainClient;
use super::protocol::{claim_bool, claim_path, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, Provider, ProviderContext, ProviderError,
    ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

pub use super::protocol::http::USER_AGENT;

/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    authorize_url: Text,
    token_url: Text,
    userinfo_url: Text,
    authorize_scopes: Text,
    subject_attribute: Text,
    pkce: Flag,
    token_endpoint_auth_method: Text,
    trust_email: Flag,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "OAuth2"
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "Plain OAuth 2.0",
            register_at: "the provider's OAuth app registration",
            fields: &[
                FormField::new("authorize_url", "Authorization endpoint", "", "text", true),
                FormField::new("token_url", "Token endpoint", "", "text", true),
                FormField::new(
                    "userinfo_url",
                    "User info endpoint",
                    "Read with the access token to learn who signed in.",
                    "text",
                    true,
                ),
                CLIENT_ID,
                CLIENT_SECRET,
                SCOPES,
                FormField::new(
                    "subject_attribute",
                    "Subject attribute",
                    "The user info field that identifies the user for good (such as id).",
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
    fn secret_fields(&self) -> &'static [&'static str] {
        &["client_secret"]
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[("email", "email"), ("name", "name")]
    }
}

/// What a plain OAuth 2.0 sign-in needs after the code exchange, shared with GitHub.
pub struct Userinfo {
    pub url: Url,
    pub subject_attribute: String,
    pub trust_email: bool,
    /// The provider attribute `email_verified` is mapped from, if any.
    pub verified_attribute: Option<String>,
    /// The provider attribute `email` is mapped from (default `email`).
    pub email_attribute: String,
}

fn parse(record: &ProviderRecord) -> Result<(PlainClient, SecretString, Userinfo), Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let (client_id, secret) = config::client_credentials(&c.client_id, &c.client_secret, &mut p);
    let url = |t: &Text, key: &str, p: &mut Problems| {
        config::required(t, key, p)?;
        config::optional_url(t, key, p)
    };
    let authorize_url = url(&c.authorize_url, "authorize_url", &mut p);
    let token_url = url(&c.token_url, "token_url", &mut p);
    let userinfo_url = url(&c.userinfo_url, "userinfo_url", &mut p);
    // Scopes are optional in plain OAuth 2.0 (RFC 6749 3.3): none is sent when unset.
    let scopes = if c.authorize_scopes.is_written() {
        config::scopes(&c.authorize_scopes, "", &mut p)
    } else {
        Vec::new()
    };
    let subject_attribute = config::optional(&c.subject_attribute, "subject_attribute", &mut p)
        .unwrap_or("id")
        .to_owned();
    let pkce = config::flag(c.pkce, "pkce", false, &mut p);
    let trust_email = config::flag(c.trust_email, "trust_email", false, &mut p);
    let auth = auth_method(&c.token_endpoint_auth_method, &mut p);
    let (Some(authorize_url), Some(token_url), Some(userinfo_url)) =
        (authorize_url, token_url, userinfo_url)
    else {
        return Err(p.0);
    };
    p.into_result()?;
    Ok((
        PlainClient {
            client_id,
            authorize_url,
            token_url,
            scopes,
            pkce,
            auth,
            user_agent: USER_AGENT,
        },
        secret,
        userinfo(
            &record.attribute_mapping,
            userinfo_url,
            subject_attribute,
            trust_email,
        ),
    ))
}

/// `token_endpoint_auth_method`: `client_secret_basic` (the default, RFC 6749 2.3.1) or
/// `client_secret_post`.
pub fn auth_method(t: &Text, p: &mut Problems) -> TokenAuth {
    match config::optional(t, "token_endpoint_auth_method", p) {
        None => TokenAuth::Basic,
        Some(m) => TokenAuth::parse(m).unwrap_or_else(|| {
            p.add(
                "token_endpoint_auth_method",
                "must be client_secret_basic or client_secret_post",
            );
            TokenAuth::Basic
        }),
    }
}

/// The userinfo settings, with the attributes `email` and `email_verified` are mapped
/// from.
pub fn userinfo(
    mapping: &BTreeMap<String, String>,
    url: Url,
    subject_attribute: String,
    trust_email: bool,
) -> Userinfo {
    Userinfo {
        url,
        subject_attribute,
        trust_email,
        verified_attribute: mapping.get("email_verified").cloned(),
        email_attribute: mapping
            .get("email")
            .cloned()
            .unwrap_or_else(|| "email".into()),
    }
}

impl Userinfo {
    /// The identity from a userinfo object: the subject at `subject_attribute` (a
    /// string, or an integer written as its decimal digits), the email and whether it
    /// counts as verified.
    pub fn identity(&self, raw: Map<String, Value>) -> Result<UpstreamIdentity, ProviderError> {
        let subject = match claim_path(&raw, &self.subject_attribute) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => String::new(),
        };
        if subject.is_empty() || subject.len() > 255 {
            return Err(ProviderError::Rejected(format!(
                "userinfo has no usable {:?} (the subject attribute)",
                super::protocol::http::truncate(&self.subject_attribute, 60)
            )));
        }
        let email = claim_path(&raw, &self.email_attribute)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_owned);
        let verified = self.trust_email
            || self
                .verified_attribute
                .as_deref()
                .is_some_and(|a| claim_bool(claim_path(&raw, a)));
        let mut id = identity_from_claims(raw, "", None);
        id.subject = subject;
        id.email_verified = verified && email.is_some();
        id.email = email;
        Ok(id)
    }

    /// GETs the userinfo JSON with the access token.
    pub async fn fetch(
        &self,
        ctx: &ProviderContext,
        access_token: &str,
    ) -> Result<Map<String, Value>, ProviderError> {
        http::get_json(
            ctx.http
                .get(self.url.clone())
                .bearer_auth(access_token)
                .header(reqwest::header::USER_AGENT, USER_AGENT),
            "userinfo",
        )
        .await
    }
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let (client, secret, info) = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    Ok(std::sync::Arc::new(OAuth2 {
        name: record.name.clone(),
        client,
        secret,
        info,
        ctx: ctx.clone(),
    }))
}

pub struct OAuth2 {
    name: String,
    client: PlainClient,
    secret: SecretString,
    info: Userinfo,
    ctx: ProviderContext,
}

#[async_trait]
impl Provider for OAuth2 {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static dyn ProviderKind {
        &Kind
    }
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError> {
        self.client.begin(req.redirect_uri, req.state)
    }
    async fn complete(
        &self,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let tokens = self
            .client
            .complete(
                &self.ctx.http,
                params,
                st,
                redirect_uri,
                self.secret.expose_secret(),
            )
            .await?;
        let raw = self.info.fetch(&self.ctx, &tokens.access_token).await?;
        self.info.identity(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(mapping: &[(&str, &str)], trust: bool) -> Userinfo {
        let m = mapping
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let u = Url::parse("https://api.example/me").unwrap_or_else(|_| unreachable!());
        userinfo(&m, u, "data.id".into(), trust)
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn subject_by_dotted_path_and_email_unverified_by_default() {
        let raw = obj(json!({"data": {"id": 42}, "email": "a@x.com", "verified": true}));
        let id = info(&[], false).identity(raw.clone()).unwrap_or_default();
        assert_eq!(id.subject, "42");
        assert_eq!(id.email.as_deref(), Some("a@x.com"));
        assert!(!id.email_verified);
        let id = info(&[("email_verified", "verified")], false)
            .identity(raw.clone())
            .unwrap_or_default();
        assert!(id.email_verified);
        let id = info(&[], true).identity(raw).unwrap_or_default();
        assert!(id.email_verified);
        let none = info(&[], true).identity(obj(json!({"data": {"id": 1.5}})));
        assert!(matches!(none, Err(ProviderError::Rejected(_))));
    }
}
