//! The OpenID Connect relying party shared by the OIDC, Google and Apple adapters:
//! discovery (cached), the authorize request with state, nonce and PKCE, the callback
//! checks (RFC 9207 `iss`), code exchange, id_token verification and userinfo.

use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use url::Url;

use super::assertion::ClientKey;
use super::config::{discovered_endpoint, parse_endpoint};
use super::http::{self, truncate};
use super::idtoken::{self, Expect, asymmetric_alg};
use super::jwks::JwksCache;
use super::oauth2::{self, CodeExchange, ST_NONCE, ST_VERIFIER, TokenAuth};
use crate::provider::{
    BeginRequest, BeginResponse, BrowserAction, CallbackParams, ProviderContext, ProviderError,
    UpstreamState,
};

/// A cached discovery document is refreshed after this long.
const DISCOVERY_MAX_AGE_S: i64 = 24 * 3600;

/// Where the endpoints come from.
#[derive(Clone, Debug, Default)]
pub struct EndpointConfig {
    /// Fetch `{issuer}/.well-known/openid-configuration`; explicit URLs below win.
    pub discover: bool,
    pub authorize_url: Option<Url>,
    pub token_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    pub jwks_uri: Option<Url>,
}

/// Settings of one relying party.
#[derive(Clone)]
pub struct RpConfig {
    pub client_id: String,
    /// The issuer as `iss` carries it.
    pub issuer: String,
    /// Other accepted `iss` spellings (Google's `accounts.google.com`).
    pub extra_issuers: Vec<String>,
    pub endpoints: EndpointConfig,
    pub scopes: Vec<String>,
    pub auth: TokenAuth,
    /// `None`: never call userinfo. `Some(true)`: POST.
    pub userinfo_post: Option<bool>,
    pub pkce: bool,
}

/// Resolved endpoints and capabilities.
#[derive(Clone, Debug)]
pub struct Metadata {
    pub authorize_url: Url,
    pub token_url: Url,
    pub userinfo_url: Option<Url>,
    pub jwks_uri: Url,
    pub algs: Vec<CoreJwsSigningAlgorithm>,
    pub iss_parameter_supported: bool,
}

/// How the relying party authenticates at the token endpoint.
/// No `Debug`: it carries the secret.
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    /// `client_secret_basic` or `client_secret_post` (as `RpConfig::auth` says).
    Secret(&'a str),
    /// `private_key_jwt` (RFC 7523).
    Key(&'a ClientKey),
}

/// The verified result of a callback.
pub struct Verified {
    pub claims: Map<String, Value>,
    pub userinfo: Option<Map<String, Value>>,
}

pub struct RelyingParty {
    pub cfg: RpConfig,
    ctx: ProviderContext,
    metadata: Mutex<Option<(Metadata, i64)>>,
    jwks: JwksCache,
}

impl RelyingParty {
    pub fn new(cfg: RpConfig, ctx: &ProviderContext) -> Self {
        let jwks = JwksCache::new(ctx.http.clone(), ctx.clock.clone());
        Self {
            cfg,
            ctx: ctx.clone(),
            metadata: Mutex::new(None),
            jwks,
        }
    }

    pub fn issuers(&self) -> Vec<String> {
        let mut v = vec![self.cfg.issuer.clone()];
        v.extend(self.cfg.extra_issuers.iter().cloned());
        v
    }

    /// Endpoints, from the explicit settings or discovery (cached).
    pub async fn metadata(&self) -> Result<Metadata, ProviderError> {
        let e = &self.cfg.endpoints;
        if !e.discover {
            let missing = |what: &str| {
                ProviderError::Config(format!("{what} is not set and discovery is off"))
            };
            return Ok(Metadata {
                authorize_url: e
                    .authorize_url
                    .clone()
                    .ok_or_else(|| missing("authorize_url"))?,
                token_url: e.token_url.clone().ok_or_else(|| missing("token_url"))?,
                userinfo_url: e.userinfo_url.clone(),
                jwks_uri: e.jwks_uri.clone().ok_or_else(|| missing("jwks_uri"))?,
                algs: vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
                iss_parameter_supported: false,
            });
        }
        let now = self.ctx.clock.now();
        let mut cache = self.metadata.lock().await;
        if let Some((m, at)) = cache.as_ref()
            && now - at < DISCOVERY_MAX_AGE_S
        {
            return Ok(m.clone());
        }
        match self.discover().await {
            Ok(m) => {
                *cache = Some((m.clone(), now));
                Ok(m)
            }
            Err(err) => match cache.as_ref() {
                Some((m, _)) => {
                    tracing::warn!(error = %err, "discovery refresh failed; using the cached document");
                    Ok(m.clone())
                }
                None => Err(err),
            },
        }
    }

    async fn discover(&self) -> Result<Metadata, ProviderError> {
        // OpenID Connect Discovery 1.0 section 4: the path is appended to the issuer.
        let doc_url = format!(
            "{}/.well-known/openid-configuration",
            self.cfg.issuer.trim_end_matches('/')
        );
        let doc_url =
            parse_endpoint(&doc_url).map_err(|e| ProviderError::Config(format!("issuer: {e}")))?;
        let doc = http::get_json(self.ctx.http.get(doc_url), "discovery").await?;
        // Section 4.3: the document's issuer must be the one it was fetched for.
        let iss = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
        if !self.issuers().iter().any(|i| i == iss) {
            return Err(ProviderError::Upstream(format!(
                "discovery: issuer {:?} is not the configured issuer",
                truncate(iss, 100)
            )));
        }
        let url = |key: &str, explicit: &Option<Url>| -> Result<Option<Url>, ProviderError> {
            if let Some(u) = explicit {
                return Ok(Some(u.clone()));
            }
            match doc.get(key).and_then(Value::as_str) {
                None => Ok(None),
                Some(s) => discovered_endpoint(s, &self.cfg.issuer)
                    .map(Some)
                    .map_err(|e| ProviderError::Upstream(format!("discovery: {key} {e}"))),
            }
        };
        let need = |key: &str, v: Option<Url>| {
            v.ok_or_else(|| ProviderError::Upstream(format!("discovery: no {key}")))
        };
        let e = &self.cfg.endpoints;
        let algs = match doc
            .get("id_token_signing_alg_values_supported")
            .and_then(Value::as_array)
        {
            Some(list) => list
                .iter()
                .filter_map(Value::as_str)
                .filter_map(asymmetric_alg)
                .collect(),
            None => vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
        };
        Ok(Metadata {
            authorize_url: need(
                "authorization_endpoint",
                url("authorization_endpoint", &e.authorize_url)?,
            )?,
            token_url: need("token_endpoint", url("token_endpoint", &e.token_url)?)?,
            userinfo_url: url("userinfo_endpoint", &e.userinfo_url)?,
            jwks_uri: need("jwks_uri", url("jwks_uri", &e.jwks_uri)?)?,
            algs,
            iss_parameter_supported: doc.get("authorization_response_iss_parameter_supported")
                == Some(&Value::Bool(true)),
        })
    }

    /// The authorize redirect: code flow, state, nonce, PKCE, `login_hint`, plus `extra`.
    pub async fn begin(
        &self,
        req: &BeginRequest<'_>,
        extra: &[(&str, &str)],
    ) -> Result<BeginResponse, ProviderError> {
        let m = self.metadata().await?;
        let (mut st, mut params) = oauth2::begin_code_flow(
            &self.cfg.client_id,
            req.redirect_uri,
            req.state,
            self.cfg.pkce,
        )?;
        let nonce = oauth2::random_token()?;
        params.push(("scope", self.cfg.scopes.join(" ")));
        params.push(("nonce", nonce.clone()));
        st.set(ST_NONCE, nonce);
        if let Some(hint) = req.login_hint.filter(|h| !h.is_empty()) {
            params.push(("login_hint", hint.to_owned()));
        }
        let mut all: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        Ok(BeginResponse {
            action: BrowserAction::Redirect(oauth2::authorize_url(&m.authorize_url, &all)),
            upstream_state: st,
        })
    }

    /// Checks the callback, exchanges the code, verifies the id_token, merges userinfo.
    pub async fn complete(
        &self,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
        client_secret: &str,
    ) -> Result<Verified, ProviderError> {
        self.complete_with(params, st, redirect_uri, Credential::Secret(client_secret))
            .await
    }

    /// `complete` with the client's credential: its secret, or its key
    /// (`private_key_jwt`, the assertion's `aud` being the token endpoint).
    pub async fn complete_with(
        &self,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
        credential: Credential<'_>,
    ) -> Result<Verified, ProviderError> {
        let code = oauth2::callback_code(params, st)?;
        let m = self.metadata().await?;
        // RFC 9207 section 2.4: a present `iss` must be the issuer; when the provider
        // advertises the parameter it must be present.
        match params.get("iss") {
            Some(iss) if !self.issuers().iter().any(|i| i == iss) => {
                return Err(ProviderError::Rejected(
                    "callback iss is not the provider's issuer (RFC 9207)".into(),
                ));
            }
            None if m.iss_parameter_supported => {
                return Err(ProviderError::Rejected(
                    "callback lacks the iss parameter the provider advertises (RFC 9207)".into(),
                ));
            }
            _ => {}
        }
        let (client_secret, assertion) = match credential {
            Credential::Secret(s) => (s, None),
            Credential::Key(k) => (
                "",
                Some(k.assertion(
                    &self.cfg.client_id,
                    m.token_url.as_str(),
                    self.ctx.clock.now(),
                )?),
            ),
        };
        let tokens = oauth2::exchange_code(
            &self.ctx.http,
            &CodeExchange {
                token_url: &m.token_url,
                code,
                redirect_uri,
                code_verifier: st.get(ST_VERIFIER),
                client_id: &self.cfg.client_id,
                client_secret,
                auth: self.cfg.auth,
                client_assertion: assertion.as_deref(),
            },
        )
        .await?;
        let id_token = tokens
            .id_token
            .as_deref()
            .ok_or_else(|| ProviderError::Upstream("token endpoint: no id_token".into()))?;
        let nonce = st
            .get(ST_NONCE)
            .ok_or_else(|| ProviderError::Rejected("sign-in nonce lost".into()))?;
        let issuers = self.issuers();
        let expect = Expect {
            client_id: &self.cfg.client_id,
            native_ids: &[],
            issuers: &issuers,
            nonce: Some(nonce),
            algs: &m.algs,
            access_token: Some(&tokens.access_token),
            now: self.ctx.clock.now(),
        };
        let claims = idtoken::verify(id_token, &self.jwks, &m.jwks_uri, &expect).await?;
        let userinfo = match (&m.userinfo_url, self.cfg.userinfo_post) {
            (Some(u), Some(post)) => Some(
                self.userinfo(u, post, &tokens.access_token, &claims)
                    .await?,
            ),
            _ => None,
        };
        Ok(Verified { claims, userinfo })
    }

    /// Verifies an id_token a native app got from the provider's own SDK (token
    /// exchange): every check of a browser sign-in's id_token (signature against the
    /// JWKS with the published algorithms, `iss`, `exp`, `iat` age), with `aud` (or
    /// `azp`) the client id or one of `native_ids`, and `nonce` when the app sends one.
    pub async fn verify_native(
        &self,
        token: &str,
        native_ids: &[String],
        nonce: Option<&str>,
    ) -> Result<Verified, ProviderError> {
        let m = self.metadata().await?;
        let issuers = self.issuers();
        let expect = Expect {
            client_id: &self.cfg.client_id,
            native_ids,
            issuers: &issuers,
            nonce,
            algs: &m.algs,
            access_token: None,
            now: self.ctx.clock.now(),
        };
        let claims = idtoken::verify(token, &self.jwks, &m.jwks_uri, &expect).await?;
        Ok(Verified {
            claims,
            userinfo: None,
        })
    }

    /// OIDC Core 5.3: the userinfo `sub` must be the id_token's.
    async fn userinfo(
        &self,
        url: &Url,
        post: bool,
        access_token: &str,
        claims: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ProviderError> {
        let req = if post {
            self.ctx.http.post(url.clone())
        } else {
            self.ctx.http.get(url.clone())
        };
        let resp = http::send(
            req.bearer_auth(access_token)
                .header(reqwest::header::ACCEPT, "application/json"),
            "userinfo",
        )
        .await?;
        if !resp.status.is_success() {
            return Err(ProviderError::Upstream(format!(
                "userinfo: status {}",
                resp.status.as_u16()
            )));
        }
        if resp.content_type.starts_with("application/jwt") {
            return Err(ProviderError::Upstream(
                "userinfo: signed userinfo answers are not supported".into(),
            ));
        }
        let info = resp.json_object("userinfo")?;
        if info.get("sub") != claims.get("sub") {
            return Err(ProviderError::Rejected(
                "userinfo sub differs from the id_token sub".into(),
            ));
        }
        Ok(info)
    }
}

/// id_token claims that describe the token, not the user: left out of `raw`.
const TOKEN_CLAIMS: &[&str] = &[
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "at_hash",
    "c_hash",
    "jti",
    "azp",
    "nonce_supported",
];

/// Merges id_token claims and userinfo into one attribute map: the signed id_token wins
/// where both carry a claim; userinfo adds what the id_token lacks.
pub fn merged_claims(v: &Verified) -> Map<String, Value> {
    let mut raw: Map<String, Value> = v
        .claims
        .iter()
        .filter(|(k, _)| !TOKEN_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(info) = &v.userinfo {
        for (k, val) in info {
            if !raw.contains_key(k) && !TOKEN_CLAIMS.contains(&k.as_str()) {
                raw.insert(k.clone(), val.clone());
            }
        }
    }
    raw
}
