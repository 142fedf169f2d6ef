//! Sign in with Apple (OpenID Connect with quirks): the client secret is an ES256 JWT
//! signed with the registration's `.p8` key; asking for `name` or `email` forces
//! `response_mode=form_post`, so the callback is a cross-site POST; the user's name
//! arrives once, unsigned, in the `user` form field of the first authorization; boolean
//! claims may be strings.

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::kind::{COGNITO_SOCIAL_ENDPOINTS, ConsoleForm, FormField, Give, SCOPES};
use super::protocol::config::{self, EndpointDetails, Endpoints, Problems, Table, Text, Words};
use super::protocol::oauth2::TokenAuth;
use super::protocol::oidc::{EndpointConfig, RelyingParty, RpConfig, Verified, merged_claims};
use super::protocol::{claim_bool, claim_str, identity_from_claims};
use super::{
    BeginRequest, BeginResponse, CallbackParams, NativeSignIn, Provider, ProviderContext,
    ProviderError, ProviderKind, SharedProvider, UpstreamIdentity, UpstreamState,
};
use crate::model::ProviderRecord;

pub const ISSUER: &str = "https://appleid.apple.com";
/// Apple's ceiling on a client secret's lifetime (6 months).
pub const MAX_SECRET_LIFETIME_S: i64 = 15_777_000;
/// Lifetime of the secrets poolgate makes: short, and renewed well before expiry.
const SECRET_LIFETIME_S: i64 = 24 * 3600;
const SECRET_RENEW_BEFORE_S: i64 = 3600;
const MAX_USER_FIELD: usize = 4096;
/// The registration's details.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    client_id: Text,
    team_id: Text,
    key_id: Text,
    private_key: Text,
    authorize_scopes: Text,
    native_client_ids: Words,
    endpoints: Table<EndpointDetails>,
}

pub struct Kind;
impl ProviderKind for Kind {
    fn type_name(&self) -> &'static str {
        "SignInWithApple"
    }
    fn button_label(&self) -> Option<&'static str> {
        Some("Sign in with Apple")
    }
    fn console(&self) -> &'static ConsoleForm {
        static FORM: ConsoleForm = ConsoleForm {
            title: "Sign in with Apple",
            register_at: "Apple Developer, Certificates, Identifiers & Profiles, your Services ID",
            fields: &[
                FormField::new(
                    "client_id",
                    "Services ID",
                    "The identifier of the Services ID, such as com.example.signin.",
                    "text",
                    true,
                ),
                FormField::new(
                    "team_id",
                    "Team ID",
                    "Ten characters, shown at the top right of the developer account.",
                    "text",
                    true,
                ),
                FormField::new(
                    "key_id",
                    "Key ID",
                    "The ID of the Sign in with Apple key.",
                    "text",
                    true,
                ),
                FormField::new(
                    "private_key",
                    "Private key (.p8)",
                    "The contents of the AuthKey_XXXXXXXXXX.p8 file.",
                    "area",
                    true,
                ),
                SCOPES,
            ],
            give: &[
                Give::Host("Domain"),
                Give::Endpoint("Return URL", "/oauth2/idpresponse"),
            ],
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
        &["private_key"]
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("email", "email"),
            ("email_verified", "email_verified"),
            ("given_name", "firstName"),
            ("family_name", "lastName"),
            ("name", "name"),
        ]
    }
}

/// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as Apple's `.p8` files are).
/// Accepts literal `\n` sequences, as a key squeezed into one environment variable has.
fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let pem = pem.replace("\\n", "\n");
    let body = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .nth(1)?
        .split("-----END PRIVATE KEY-----")
        .next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).ok()
}

struct Settings {
    rp: RpConfig,
    team_id: String,
    key_id: String,
    key: Option<EcdsaKeyPair>,
    /// The client-secret `aud`: Apple's issuer, or the overridden one.
    audience: String,
    /// App bundle ids: the `aud` of an id_token from a device's own sign-in.
    native_ids: Vec<String>,
}

fn parse(record: &ProviderRecord) -> Result<Settings, Vec<String>> {
    let mut p = Problems::default();
    let c: Config = config::typed(&record.details, &mut p);
    let client_id = config::required(&c.client_id, "client_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let team_id = config::required(&c.team_id, "team_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let key_id = config::required(&c.key_id, "key_id", &mut p)
        .unwrap_or("")
        .to_owned();
    let key = config::required(&c.private_key, "private_key", &mut p).and_then(|pem| {
        let key = pem_to_der(pem)
            .and_then(|der| EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).ok());
        if key.is_none() {
            p.add(
                "private_key",
                "is not a PKCS#8 PEM P-256 private key (the .p8 file from Apple)",
            );
        }
        key
    });
    let scopes = config::scopes(&c.authorize_scopes, "name email", &mut p);
    for s in &scopes {
        if s != "name" && s != "email" && s != "openid" {
            p.add(
                "authorize_scopes",
                format!("{s:?} is not a Sign in with Apple scope (name, email)"),
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
    let fixed = |path: &str| {
        Url::parse(&format!("{ISSUER}{path}")).map_err(|e| vec![format!("built-in endpoint: {e}")])
    };
    let endpoints = EndpointConfig {
        discover: false,
        authorize_url: Some(
            e.authorize_url
                .map_or_else(|| fixed("/auth/authorize"), Ok)?,
        ),
        token_url: Some(e.token_url.map_or_else(|| fixed("/auth/token"), Ok)?),
        userinfo_url: None,
        jwks_uri: Some(e.jwks_uri.map_or_else(|| fixed("/auth/keys"), Ok)?),
    };
    Ok(Settings {
        rp: RpConfig {
            client_id,
            issuer: issuer.clone(),
            extra_issuers: Vec::new(),
            endpoints,
            // Apple takes `name email` without `openid` and always answers an id_token.
            scopes,
            auth: TokenAuth::Post,
            userinfo_post: None,
            pkce: false,
        },
        team_id,
        key_id,
        key,
        audience: issuer,
        native_ids,
    })
}

fn build(record: &ProviderRecord, ctx: &ProviderContext) -> Result<SharedProvider, ProviderError> {
    let mut s = parse(record).map_err(|v| ProviderError::Config(v.join("; ")))?;
    let key = s
        .key
        .take()
        .ok_or_else(|| ProviderError::Config("details.private_key: unreadable".into()))?;
    let form_post = s.rp.scopes.iter().any(|x| x == "name" || x == "email");
    Ok(std::sync::Arc::new(Apple {
        name: record.name.clone(),
        rp: RelyingParty::new(s.rp, ctx),
        team_id: s.team_id,
        key_id: s.key_id,
        key,
        audience: s.audience,
        native_ids: s.native_ids,
        form_post,
        ctx: ctx.clone(),
        secret: Mutex::new(None),
    }))
}

pub struct Apple {
    name: String,
    rp: RelyingParty,
    team_id: String,
    key_id: String,
    key: EcdsaKeyPair,
    audience: String,
    native_ids: Vec<String>,
    form_post: bool,
    ctx: ProviderContext,
    /// The current client secret and its `exp`.
    secret: Mutex<Option<(String, i64)>>,
}

impl Apple {
    /// The client-secret JWT, reused until it nears expiry.
    async fn client_secret(&self) -> Result<String, ProviderError> {
        let now = self.ctx.clock.now();
        let mut cache = self.secret.lock().await;
        if let Some((jwt, exp)) = cache.as_ref()
            && now < exp - SECRET_RENEW_BEFORE_S
        {
            return Ok(jwt.clone());
        }
        let exp = now + SECRET_LIFETIME_S.min(MAX_SECRET_LIFETIME_S);
        let header = json!({"alg": "ES256", "kid": self.key_id});
        let claims = json!({"iss": self.team_id, "iat": now, "exp": exp, "aud": self.audience, "sub": self.rp.cfg.client_id});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| ProviderError::Config("signing the Apple client secret failed".into()))?;
        let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
        *cache = Some((jwt.clone(), exp));
        Ok(jwt)
    }
}

#[async_trait]
impl Provider for Apple {
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
        if self.form_post {
            self.rp.begin(req, &[("response_mode", "form_post")]).await
        } else {
            self.rp.begin(req, &[]).await
        }
    }
    async fn complete(
        &self,
        params: &CallbackParams,
        state: &UpstreamState,
        redirect_uri: &Url,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let secret = self.client_secret().await?;
        let v = self
            .rp
            .complete(params, state, redirect_uri, &secret)
            .await?;
        Ok(identity(&v, params.get("user")))
    }
}

#[async_trait]
impl NativeSignIn for Apple {
    /// Apple's native flow hands Apple the SHA-256 (hex) of the app's nonce, and the
    /// id_token carries that hash: the raw nonce the app sends here is hashed to match.
    async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<UpstreamIdentity, ProviderError> {
        let hashed = nonce.map(crate::secret::sha256_hex);
        let v = self
            .rp
            .verify_native(id_token, &self.native_ids, hashed.as_deref())
            .await?;
        Ok(identity(&v, None))
    }
}

/// The identity of a verified id_token, with the name from the unsigned `user` field of
/// a browser sign-in's first authorization.
fn identity(v: &Verified, user: Option<&str>) -> UpstreamIdentity {
    let issuer = claim_str(&v.claims, "iss");
    let mut raw = merged_claims(v);
    for key in ["email_verified", "is_private_email"] {
        if let Some(val) = raw.get(key) {
            let b = claim_bool(Some(val));
            raw.insert(key.into(), Value::Bool(b));
        }
    }
    // The `user` field is unsigned: only the name is taken from it, never the email.
    if let Some(user) = user {
        add_user_names(&mut raw, user);
    }
    let mut id = identity_from_claims(raw, "sub", issuer);
    id.given_name = claim_str(&id.raw, "firstName");
    id.family_name = claim_str(&id.raw, "lastName");
    id
}

/// Reads `{"name": {"firstName", "lastName"}, "email"}` into `firstName`, `lastName` and
/// a joined `name`. A malformed field is ignored (it only ever adds a display name).
fn add_user_names(raw: &mut Map<String, Value>, user: &str) {
    if user.len() > MAX_USER_FIELD {
        tracing::warn!("apple user field too long; ignored");
        return;
    }
    let Ok(Value::Object(u)) = serde_json::from_str::<Value>(user) else {
        tracing::warn!("apple user field is not a JSON object; ignored");
        return;
    };
    let Some(Value::Object(name)) = u.get("name") else {
        return;
    };
    let first = claim_str(name, "firstName");
    let last = claim_str(name, "lastName");
    let full: Vec<&str> = [first.as_deref(), last.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(f) = first.clone() {
        raw.insert("firstName".into(), Value::String(f));
    }
    if let Some(l) = last.clone() {
        raw.insert("lastName".into(), Value::String(l));
    }
    if !full.is_empty() {
        raw.insert("name".into(), Value::String(full.join(" ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_field() {
        let mut raw = Map::new();
        add_user_names(
            &mut raw,
            r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x@privaterelay.appleid.com"}"#,
        );
        assert_eq!(raw.get("firstName"), Some(&json!("Ada")));
        assert_eq!(raw.get("name"), Some(&json!("Ada Lovelace")));
        assert!(!raw.contains_key("email"));
        let mut raw = Map::new();
        add_user_names(&mut raw, "not json");
        assert!(raw.is_empty());
    }

    #[test]
    fn pem_with_escaped_newlines() {
        assert_eq!(
            pem_to_der("-----BEGIN PRIVATE KEY-----\\nAAEC\\n-----END PRIVATE KEY-----"),
            Some(vec![0, 1, 2])
        );
        assert_eq!(pem_to_der("garbage"), None);
    }
}
