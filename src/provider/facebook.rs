//! Facebook Login (OAuth 2.0 plus the Graph API; not OpenID Connect): the code is
//! exchanged at the Graph token endpoint, the profile read from `/me`, and every Graph
//! call carries `appsecret_proof` (HMAC-SHA256 of the access token keyed with the app
//! secret), so a leaked token is useless without the secret.

use async_trait::async_trait;
use aws_lc_rs::hmac;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::facebook_limited::{self as limited, LimitedLogin};
use super::kind::{COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, FormField, GIVE_REDIRECT_URI, SCOPES};
use super::protocol::config::{
    self, EndpointDetails, Endpoints, Flag, Problems, Table, Text, Words,
};
use super::protocol::http::{self, truncate};
use super::protocol::oauth2;
use super::protocol::{claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, NativeSignIn, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

/// The newest Graph API version when this adapter was written.
pub const DEFAULT_VERSION: &str = "v26.0";
const FIELDS: &str = "id,name,email,first_name,last_name,picture";
/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    authorize_scopes: Text,
    api_version: Text,
    trust_email: Flag,
    native_client_ids: Words,
    endpoints: Table<EndpointDetails>,
}

/// Graph API release dates (Meta's changelog, "Date Introduced"): for the age warning.
const RELEASES: &[(&str, &str)] = &[
    ("v10.0", "2021-02-23"),
    ("v11.0", "2021-06-08"),
    ("v12.0", "2021-09-14"),
    ("v13.0", "2022-02-08"),
    ("v14.0", "2022-05-25"),
    ("v15.0", "2022-09-15"),
    ("v16.0", "2023-02-02"),
    ("v17.0", "2023-05-23"),
    ("v18.0", "2023-09-12"),
    ("v19.0", "2024-01-23"),
    ("v20.0", "2024-05-21"),
    ("v21.0", "2024-10-02"),
    ("v22.0", "2025-01-21"),
    ("v23.0", "2025-05-29"),
    ("v24.0", "2025-10-08"),
    ("v25.0", "2026-02-18"),
    ("v26.0", "2026-07-29"),
];

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "Facebook"
    }
    fn button_label(&self) -> Option<&'static str> {
        Some("Continue with Facebook")
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "Facebook",
            register_at: "Meta for Developers, your app, Facebook Login, Settings",
            fields: &[
                FormField::new("client_id", "App ID", "", "text", true),
                FormField::new("client_secret", "App secret", "", "secret", true),
                SCOPES,
                FormField::new(
                    "api_version",
                    "Graph API version",
                    "For example v19.0.",
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
        &[
            ("email", "email"),
            ("name", "name"),
            ("given_name", "first_name"),
            ("family_name", "last_name"),
            ("picture", "picture"),
        ]
    }
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.strip_prefix('v')?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn release_epoch(date: &str) -> Option<i64> {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
}

/// A warning when `version` was released more than two years before `now`. A version
/// older than the table is older than its first entry.
pub fn version_age_warning(version: &str, now: i64) -> Option<String> {
    let want = parse_version(version)?;
    let released = match RELEASES.iter().find(|(v, _)| *v == version) {
        Some((_, d)) => release_epoch(d)?,
        None => {
            let (first_v, first_d) = RELEASES.first()?;
            if want < parse_version(first_v)? {
                release_epoch(first_d)?
            } else {
                return None;
            }
        }
    };
    const TWO_YEARS_S: i64 = 2 * 365 * 24 * 3600 + 24 * 3600;
    (now - released > TWO_YEARS_S).then(|| format!("Graph API {version} is more than two years old; Meta retires versions about two years after release"))
}

struct Settings {
    client_id: String,
    secret: SecretString,
    scopes: Vec<String>,
    version: String,
    trust_email: bool,
    authorize_url: Url,
    token_url: Url,
    profile_url: Url,
    native_ids: Vec<String>,
    limited_issuer: String,
    limited_jwks: Url,
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let (client_id, secret) = config::client_credentials(&c.client_id, &c.client_secret, &mut p);
    let scopes = config::scopes(&c.authorize_scopes, "public_profile,email", &mut p);
    let version = config::optional(&c.api_version, "api_version", &mut p)
        .unwrap_or(DEFAULT_VERSION)
        .to_owned();
    if parse_version(&version).is_none() {
        p.add("api_version", "must look like v26.0");
    }
    let trust_email = config::flag(c.trust_email, "trust_email", false, &mut p);
    let native_ids = config::string_list(&c.native_client_ids, "native_client_ids", &mut p);
    let e = Endpoints::parse(&c.endpoints, &mut p);
    p.into_result()?;
    // The version is validated above, so these URLs parse; a failure is still reported.
    let fixed = |s: String| Url::parse(&s).map_err(|e| vec![format!("details.api_version: {e}")]);
    let authorize_url = match e.authorize_url {
        Some(u) => u,
        None => fixed(format!("https://www.facebook.com/{version}/dialog/oauth"))?,
    };
    let token_url = match e.token_url {
        Some(u) => u,
        None => fixed(format!(
            "https://graph.facebook.com/{version}/oauth/access_token"
        ))?,
    };
    let profile_url = match e.userinfo_url {
        Some(u) => u,
        None => fixed(format!("https://graph.facebook.com/{version}/me"))?,
    };
    // Limited Login's id_tokens (token exchange): `endpoints.issuer` and `jwks_uri`.
    let limited_jwks = match e.jwks_uri {
        Some(u) => u,
        None => fixed(limited::JWKS.to_owned())?,
    };
    let limited_issuer = e
        .issuer
        .as_ref()
        .map(config::issuer_string)
        .unwrap_or_else(|| limited::ISSUER.to_owned());
    Ok(Settings {
        client_id,
        secret,
        scopes,
        version,
        trust_email,
        authorize_url,
        token_url,
        profile_url,
        native_ids,
        limited_issuer,
        limited_jwks,
    })
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    if let Some(w) = version_age_warning(&s.version, ctx.clock.now()) {
        tracing::warn!(provider = %record.name, "{w}");
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, s.secret.expose_secret().as_bytes());
    let limited = LimitedLogin::new(
        s.client_id.clone(),
        s.native_ids.clone(),
        s.limited_issuer.clone(),
        s.limited_jwks.clone(),
        s.trust_email,
        ctx,
    );
    Ok(std::sync::Arc::new(Facebook {
        name: record.name.clone(),
        s,
        proof_key: key,
        limited,
        ctx: ctx.clone(),
    }))
}

pub struct Facebook {
    name: String,
    s: Settings,
    proof_key: hmac::Key,
    limited: LimitedLogin,
    ctx: ProviderContext,
}

#[async_trait]
impl NativeSignIn for Facebook {
    async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError> {
        self.limited.verify(id_token, nonce).await
    }
}

impl Facebook {
    /// `appsecret_proof`: lowercase hex HMAC-SHA256(key = app secret, msg = token).
    fn proof(&self, access_token: &str) -> String {
        hex::encode(hmac::sign(&self.proof_key, access_token.as_bytes()).as_ref())
    }
}

/// The Graph error code (`{"error": {"message", "type", "code"}}`), for the log.
fn graph_error(resp: &http::Response) -> String {
    resp.json_object("graph")
        .ok()
        .and_then(|m| m.get("error").cloned())
        .and_then(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .map(|t| truncate(t, 60))
        })
        .unwrap_or_else(|| "no error type".into())
}

#[async_trait]
impl Provider for Facebook {
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
        oauth2::redirect_begin(
            &self.s.authorize_url,
            &self.s.client_id,
            req.redirect_uri,
            req.state,
            true,
            self.s.scopes.join(","),
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
        let mut url = self.s.profile_url.clone();
        url.query_pairs_mut()
            .append_pair("fields", FIELDS)
            .append_pair("appsecret_proof", &self.proof(&tokens.access_token));
        let resp = http::send(
            self.ctx.http.get(url).bearer_auth(&tokens.access_token),
            "graph /me",
        )
        .await?;
        if !resp.status.is_success() {
            return Err(ProviderError::Upstream(format!(
                "graph /me: status {} ({})",
                resp.status.as_u16(),
                graph_error(&resp)
            )));
        }
        let me = resp.json_object("graph /me")?;
        let id = identity(me, self.s.trust_email);
        if id.subject.is_empty() {
            return Err(ProviderError::Rejected("graph /me has no id".into()));
        }
        Ok(id)
    }
}

/// Graph fields to an identity: subject is `id`; `picture` becomes the URL inside
/// `picture.data.url`; Facebook asserts nothing about the email, so it is verified only
/// when the registration says to trust it.
fn identity(me: Map<String, Value>, trust_email: bool) -> UpstreamIdentity {
    let mut raw = me;
    let pic = raw
        .get("picture")
        .and_then(|p| p.pointer("/data/url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    match pic {
        Some(u) => raw.insert("picture".into(), Value::String(u)),
        None => raw.remove("picture"),
    };
    let mut id = identity_from_claims(raw, "id", None);
    id.given_name = claim_str(&id.raw, "first_name");
    id.family_name = claim_str(&id.raw, "last_name");
    id.email_verified = trust_email && id.email.is_some();
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_warning() {
        let day = 24 * 3600;
        let t = |d: &str| release_epoch(d).unwrap_or(0);
        assert!(version_age_warning("v26.0", t("2026-11-30")).is_none());
        assert!(version_age_warning("v18.0", t("2026-11-30")).is_some());
        assert!(version_age_warning("v20.0", t("2026-05-21")).is_none());
        assert!(version_age_warning("v20.0", t("2026-05-21") + 3 * day).is_some());
        assert!(version_age_warning("v9.0", t("2023-03-01") + 100 * day).is_some());
        assert!(version_age_warning("v99.0", t("2030-01-01")).is_none());
    }

    #[test]
    fn picture_is_flattened() {
        let me = serde_json::json!({"id": "10", "email": "a@b.c", "first_name": "A", "picture": {"data": {"url": "https://p/x.jpg"}}});
        let Value::Object(me) = me else { return };
        let id = identity(me.clone(), false);
        assert_eq!(id.subject, "10");
        assert_eq!(id.picture.as_deref(), Some("https://p/x.jpg"));
        assert_eq!(
            id.raw.get("picture"),
            Some(&Value::String("https://p/x.jpg".into()))
        );
        assert!(!id.email_verified);
        assert!(identity(me, true).email_verified);
    }
}
