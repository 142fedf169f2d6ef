//! GitHub (OAuth app or GitHub App user tokens), a preset of the plain OAuth 2.0 kind:
//! code flow with PKCE at github.com (or a GitHub Enterprise Server by `enterprise_url`),
//! the profile from `GET /user` (subject: its numeric `id` as a string) and the email
//! from `GET /user/emails`: the primary address with its own `verified` flag. `/user`'s
//! `email` is only the public profile address and is never used.

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::kind::{
    CLIENT_ID, CLIENT_SECRET, COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, FormField, GIVE_REDIRECT_URI,
    SCOPES,
};
use super::oauth2::USER_AGENT;
use super::protocol::config::{self, Flag, Problems, Table, Text};
use super::protocol::http;
use super::protocol::oauth2::TokenAuth;
use super::protocol::plain::PlainClient;
use super::protocol::{claim_bool, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, Provider, ProviderContext, ProviderError,
    ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    client_secret: Text,
    authorize_scopes: Text,
    enterprise_url: Text,
    pkce: Flag,
    endpoints: Table<GitHubEndpoints>,
}
/// GitHub's REST media type and the API version these calls were written against.
const ACCEPT: &str = "application/vnd.github+json";
const API_VERSION: &str = "2022-11-28";

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "GitHub"
    }
    fn button_label(&self) -> Option<&'static str> {
        Some("Continue with GitHub")
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "GitHub",
            register_at: "GitHub, Settings, Developer settings, OAuth Apps (Authorization callback URL)",
            fields: &[
                CLIENT_ID,
                CLIENT_SECRET,
                SCOPES,
                FormField::new(
                    "enterprise_url",
                    "GitHub Enterprise Server URL",
                    "Only for GitHub Enterprise Server, such as https://github.example.com.",
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
            ("picture", "avatar_url"),
            ("preferred_username", "login"),
            ("profile", "html_url"),
        ]
    }
}

struct Settings {
    client: PlainClient,
    secret: SecretString,
    user_url: Url,
    emails_url: Option<Url>,
}

/// github.com's endpoints, or a GitHub Enterprise Server's under its base URL.
fn defaults(base: Option<&Url>) -> Result<[Url; 4], String> {
    let join = |b: &Url, path: &str| b.join(path).map_err(|e| format!("{e}"));
    match base {
        None => {
            let web = Url::parse("https://github.com/").map_err(|e| e.to_string())?;
            let api = Url::parse("https://api.github.com/").map_err(|e| e.to_string())?;
            Ok([
                join(&web, "login/oauth/authorize")?,
                join(&web, "login/oauth/access_token")?,
                join(&api, "user")?,
                join(&api, "user/emails")?,
            ])
        }
        Some(b) => {
            let mut b = b.clone();
            if !b.path().ends_with('/') {
                b.set_path(&format!("{}/", b.path()));
            }
            Ok([
                join(&b, "login/oauth/authorize")?,
                join(&b, "login/oauth/access_token")?,
                join(&b, "api/v3/user")?,
                join(&b, "api/v3/user/emails")?,
            ])
        }
    }
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let (client_id, secret) = config::client_credentials(&c.client_id, &c.client_secret, &mut p);
    let scopes = config::scopes(&c.authorize_scopes, "read:user user:email", &mut p);
    let base = config::optional_url(&c.enterprise_url, "enterprise_url", &mut p);
    // GitHub supports PKCE (S256); an older Enterprise Server may need it off.
    let pkce = config::flag(c.pkce, "pkce", true, &mut p);
    let over = overrides(&c.endpoints, &mut p);
    p.into_result()?;
    let [authorize, token, user, emails] = defaults(base.as_ref()).map_err(|e| vec![e])?;
    let get = |k: &str| {
        over.iter()
            .find(|(key, _)| key == k)
            .map(|(_, u)| u.clone())
    };
    // Without `user:email` (or `user`) GitHub answers /user/emails with 404: not asked.
    let wants_emails = scopes.iter().any(|s| s == "user:email" || s == "user");
    Ok(Settings {
        client: PlainClient {
            client_id,
            authorize_url: get("authorize_url").unwrap_or(authorize),
            token_url: get("token_url").unwrap_or(token),
            scopes,
            pkce,
            auth: TokenAuth::Post,
            user_agent: USER_AGENT,
        },
        secret,
        user_url: get("userinfo_url").unwrap_or(user),
        emails_url: wants_emails.then(|| get("emails_url").unwrap_or(emails)),
    })
}

/// `details.endpoints` of GitHub: the four URLs, each optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitHubEndpoints {
    authorize_url: Text,
    token_url: Text,
    userinfo_url: Text,
    emails_url: Text,
}

/// Checks `details.endpoints`: the URLs given, by key.
fn overrides(t: &Table<GitHubEndpoints>, p: &mut Problems) -> Vec<(String, Url)> {
    let Some(e) = config::endpoints_table(t, p) else {
        return Vec::new();
    };
    [
        ("authorize_url", &e.authorize_url),
        ("token_url", &e.token_url),
        ("userinfo_url", &e.userinfo_url),
        ("emails_url", &e.emails_url),
    ]
    .into_iter()
    .filter_map(|(k, t)| {
        config::optional_url(t, &format!("endpoints.{k}"), p).map(|u| (k.to_owned(), u))
    })
    .collect()
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    Ok(std::sync::Arc::new(GitHub {
        name: record.name.clone(),
        s,
        ctx: ctx.clone(),
    }))
}

pub struct GitHub {
    name: String,
    s: Settings,
    ctx: ProviderContext,
}

impl GitHub {
    async fn api(&self, url: &Url, token: &str, what: &str) -> Result<Value, ProviderError> {
        let resp = http::send(
            self.ctx
                .http
                .get(url.clone())
                .bearer_auth(token)
                .header(reqwest::header::ACCEPT, ACCEPT)
                .header(reqwest::header::USER_AGENT, USER_AGENT)
                .header("X-GitHub-Api-Version", API_VERSION),
            what,
        )
        .await?;
        if !resp.status.is_success() {
            return Err(ProviderError::Upstream(format!(
                "{what}: status {}",
                resp.status.as_u16()
            )));
        }
        serde_json::from_slice(&resp.body)
            .map_err(|_| ProviderError::Upstream(format!("{what}: answer is not JSON")))
    }
}

#[async_trait]
impl Provider for GitHub {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> &'static dyn ProviderKind {
        &Kind
    }
    async fn begin(&self, req: &BeginRequest<'_>) -> Result<BeginResponse, ProviderError> {
        self.s.client.begin(req.redirect_uri, req.state)
    }
    async fn complete(
        &self,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let tokens = self
            .s
            .client
            .complete(
                &self.ctx.http,
                params,
                st,
                redirect_uri,
                self.s.secret.expose_secret(),
            )
            .await?;
        let Value::Object(user) = self
            .api(&self.s.user_url, &tokens.access_token, "github /user")
            .await?
        else {
            return Err(ProviderError::Upstream(
                "github /user: not a JSON object".into(),
            ));
        };
        let emails = match &self.s.emails_url {
            Some(u) => Some(
                self.api(u, &tokens.access_token, "github /user/emails")
                    .await?,
            ),
            None => None,
        };
        identity(user, emails.as_ref())
    }
}

/// The identity from `/user` and `/user/emails`.
fn identity(
    mut user: Map<String, Value>,
    emails: Option<&Value>,
) -> Result<UpstreamIdentity, ProviderError> {
    let subject = match user.get("id") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => {
            return Err(ProviderError::Rejected(
                "github /user has no numeric id".into(),
            ));
        }
    };
    // The public profile address says nothing about ownership: dropped.
    user.remove("email");
    let primary = emails
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| claim_bool(e.get("primary")))
        .and_then(|e| {
            let addr = e.get("email")?.as_str()?.trim();
            (!addr.is_empty()).then(|| (addr.to_owned(), claim_bool(e.get("verified"))))
        });
    if let Some((addr, verified)) = &primary {
        user.insert("email".into(), Value::String(addr.clone()));
        user.insert("email_verified".into(), Value::Bool(*verified));
    }
    let mut id = identity_from_claims(user, "id", None);
    id.subject = subject;
    id.email = primary.as_ref().map(|(a, _)| a.clone());
    id.email_verified = primary.is_some_and(|(_, v)| v);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn primary_email_with_its_own_flag_never_the_public_one() {
        let user = obj(json!({"id": 583231, "login": "octocat", "email": "public@example.com"}));
        let emails = json!([
            {"email": "other@example.com", "primary": false, "verified": true},
            {"email": "octo@example.com", "primary": true, "verified": false},
        ]);
        let id = identity(user.clone(), Some(&emails)).unwrap_or_default();
        assert_eq!(id.subject, "583231");
        assert_eq!(id.email.as_deref(), Some("octo@example.com"));
        assert!(!id.email_verified);
        assert_eq!(id.raw["email_verified"], false);
        let id = identity(user.clone(), None).unwrap_or_default();
        assert_eq!(id.email, None);
        assert!(!id.raw.contains_key("email"));
        assert!(identity(obj(json!({"id": "583231"})), None).is_err());
    }

    #[test]
    fn enterprise_server_endpoints() {
        let b = Url::parse("https://ghe.example.com/").unwrap_or_else(|_| unreachable!());
        let [a, t, u, e] = defaults(Some(&b)).unwrap_or_else(|_| unreachable!());
        assert_eq!(a.as_str(), "https://ghe.example.com/login/oauth/authorize");
        assert_eq!(
            t.as_str(),
            "https://ghe.example.com/login/oauth/access_token"
        );
        assert_eq!(u.as_str(), "https://ghe.example.com/api/v3/user");
        assert_eq!(e.as_str(), "https://ghe.example.com/api/v3/user/emails");
    }
}
