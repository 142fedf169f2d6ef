//! The plain OAuth 2.0 code flow (RFC 6749 section 4.1) over the `oauth2` crate, for the
//! kinds without an id_token (generic `OAuth2`, GitHub): the crate builds the authorize
//! URL with its PKCE S256 challenge (RFC 7636) and the token request (client
//! authentication basic or post, `Accept: application/json`), and parses the answer.
//!
//! The transport is ours, so today's safeguards hold: the injected client (timeouts, no
//! redirects followed), the body size cap, and two repairs before the crate reads the
//! answer: a form-encoded body (GitHub without `Accept`, older servers) becomes JSON, and
//! an error sent with status 200 (GitHub does this) is given status 400.

use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::http::{self as h, HeaderValue};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, TokenResponse as _, TokenUrl,
};
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};
use url::Url;

use super::http::{self, truncate};
use super::oauth2::{ST_STATE, ST_VERIFIER, TokenAuth, TokenResponse, callback_code};
use crate::provider::{BeginResponse, BrowserAction, CallbackParams, ProviderError, UpstreamState};

/// One plain OAuth 2.0 client registration.
#[derive(Clone, Debug)]
pub struct PlainClient {
    pub client_id: String,
    pub authorize_url: Url,
    pub token_url: Url,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub auth: TokenAuth,
    /// Sent on every upstream call (GitHub refuses requests without one).
    pub user_agent: &'static str,
}

impl PlainClient {
    /// The authorize redirect and the state to keep (the PKCE verifier when enabled).
    pub fn begin(&self, redirect_uri: &Url, state: &str) -> Result<BeginResponse, ProviderError> {
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        let csrf = state.to_owned();
        let mut req = client
            .authorize_url(move || CsrfToken::new(csrf))
            .add_scopes(self.scopes.iter().cloned().map(Scope::new));
        let mut st = UpstreamState::default();
        st.set(ST_STATE, state);
        if self.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            st.set(ST_VERIFIER, verifier.secret().as_str());
        }
        let (url, _) = req.url();
        Ok(BeginResponse {
            action: BrowserAction::Redirect(url),
            upstream_state: st,
        })
    }

    /// Checks the callback (`error`, `state`) and exchanges its code (RFC 6749 4.1.3).
    pub async fn complete(
        &self,
        http_client: &reqwest::Client,
        params: &CallbackParams,
        st: &UpstreamState,
        redirect_uri: &Url,
        client_secret: &str,
    ) -> Result<TokenResponse, ProviderError> {
        let code = callback_code(params, st)?;
        exchange(
            http_client,
            &Exchange {
                token_url: &self.token_url,
                client_id: &self.client_id,
                client_secret,
                auth: self.auth,
                code,
                code_verifier: st.get(ST_VERIFIER),
                redirect_uri,
                user_agent: self.user_agent,
            },
        )
        .await
    }
}

/// A code-for-token request of a plain OAuth 2.0 client.
pub struct Exchange<'a> {
    pub token_url: &'a Url,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub auth: TokenAuth,
    pub code: &'a str,
    pub code_verifier: Option<&'a str>,
    pub redirect_uri: &'a Url,
    pub user_agent: &'static str,
}

/// Exchanges a code over the `oauth2` crate (RFC 6749 4.1.3, the answer 5.1, errors 5.2).
pub async fn exchange(
    http_client: &reqwest::Client,
    x: &Exchange<'_>,
) -> Result<TokenResponse, ProviderError> {
    let client = BasicClient::new(ClientId::new(x.client_id.to_owned()))
        .set_client_secret(ClientSecret::new(x.client_secret.to_owned()))
        .set_token_uri(TokenUrl::from_url(x.token_url.clone()))
        .set_redirect_uri(RedirectUrl::from_url(x.redirect_uri.clone()))
        .set_auth_type(match x.auth {
            TokenAuth::Basic => AuthType::BasicAuth,
            TokenAuth::Post => AuthType::RequestBody,
        });
    let mut req = client.exchange_code(AuthorizationCode::new(x.code.to_owned()));
    if let Some(v) = x.code_verifier {
        req = req.set_pkce_verifier(PkceCodeVerifier::new(v.to_owned()));
    }
    let transport = Transport {
        client: http_client.clone(),
        user_agent: x.user_agent,
    };
    match req.request_async(&transport).await {
        Ok(tok) => {
            // RFC 6749 5.1: bearer is the only type these adapters can use.
            if *tok.token_type() != BasicTokenType::Bearer {
                return Err(ProviderError::Upstream(
                    "token endpoint: the token type is not bearer".into(),
                ));
            }
            let access_token = tok.access_token().secret().clone();
            if access_token.is_empty() {
                return Err(ProviderError::Upstream(
                    "token endpoint: empty access_token".into(),
                ));
            }
            Ok(TokenResponse {
                access_token,
                id_token: None,
                token_type: Some("bearer".into()),
            })
        }
        Err(RequestTokenError::ServerResponse(e)) => {
            let what = format!(
                "token endpoint answered {}",
                truncate(e.error().as_ref(), 60)
            );
            // `invalid_grant` (GitHub: `bad_verification_code`) is about the code the
            // browser brought: the sign-in is refused, the upstream is fine.
            Err(match e.error() {
                BasicErrorResponseType::InvalidGrant => ProviderError::Rejected(what),
                BasicErrorResponseType::Extension(x) if x == "bad_verification_code" => {
                    ProviderError::Rejected(what)
                }
                _ => ProviderError::Upstream(what),
            })
        }
        Err(RequestTokenError::Request(e)) => Err(e),
        Err(RequestTokenError::Parse(_, _)) => Err(ProviderError::Upstream(
            "token endpoint: the answer is not a token response".into(),
        )),
        Err(RequestTokenError::Other(m)) => Err(ProviderError::Upstream(format!(
            "token endpoint: {}",
            truncate(&m, 80)
        ))),
    }
}

/// The `oauth2` crate's transport: the injected client, the size cap, the repairs.
struct Transport {
    client: reqwest::Client,
    user_agent: &'static str,
}

impl<'c> AsyncHttpClient<'c> for Transport {
    type Error = ProviderError;
    type Future =
        Pin<Box<dyn Future<Output = Result<HttpResponse, ProviderError>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(&self.client, request, self.user_agent))
    }
}

/// The `oauth2` crate's request sent over the injected client with the size cap.
async fn send(
    client: &reqwest::Client,
    r: HttpRequest,
    user_agent: &str,
) -> Result<HttpResponse, ProviderError> {
    let (parts, body) = r.into_parts();
    let url = Url::parse(&parts.uri.to_string())
        .map_err(|_| ProviderError::Config("token endpoint: not a URL".into()))?;
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
        .map_err(|_| ProviderError::Config("token endpoint: bad method".into()))?;
    let mut rb = client.request(method, url).body(body);
    for (k, v) in &parts.headers {
        rb = rb.header(k.as_str(), v.as_bytes());
    }
    rb = rb.header(reqwest::header::USER_AGENT, user_agent);
    let resp = http::send(rb, "token endpoint").await?;
    let (status, json) = repair(&resp)?;
    h::Response::builder()
        .status(status)
        .header(
            h::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .body(json)
        .map_err(|_| ProviderError::Upstream("token endpoint: unreadable answer".into()))
}

/// The answer as JSON with a status the crate reads correctly (see the module comment).
fn repair(resp: &http::Response) -> Result<(u16, Vec<u8>), ProviderError> {
    let obj: Map<String, Value> = if resp.content_type.contains("json") {
        resp.json_object("token endpoint")?
    } else {
        match form_object(&resp.body) {
            Some(m) => m,
            None => resp.json_object("token endpoint")?,
        }
    };
    let mut obj = obj;
    // Some servers write `expires_in` as a string ("3600"); the crate wants a number.
    if let Some(Value::String(e)) = obj.get("expires_in")
        && let Ok(n) = e.trim().parse::<u64>()
    {
        obj.insert("expires_in".into(), Value::from(n));
    }
    let mut status = resp.status.as_u16();
    if resp.status.is_success() && obj.contains_key("error") && !obj.contains_key("access_token") {
        status = 400;
    }
    let body = serde_json::to_vec(&Value::Object(obj))
        .map_err(|_| ProviderError::Upstream("token endpoint: unreadable answer".into()))?;
    Ok((status, body))
}

/// A form-encoded token answer (`access_token=...&token_type=bearer&scope=...`) as the
/// JSON object RFC 6749 5.1 describes; `None` when it is not one.
fn form_object(body: &[u8]) -> Option<Map<String, Value>> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('{') {
        return None;
    }
    let mut m = Map::new();
    for (k, v) in url::form_urlencoded::parse(text.as_bytes()) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    (m.contains_key("access_token") || m.contains_key("error")).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_answers_become_json() {
        let m =
            form_object(b"access_token=gho_1&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer")
                .unwrap_or_default();
        assert_eq!(m["access_token"], "gho_1");
        assert_eq!(m["scope"], "read:user,user:email");
        assert!(form_object(b"{\"access_token\":\"x\"}").is_none());
        assert!(form_object(b"hello").is_none());
        let e = form_object(b"error=bad_verification_code&error_description=x").unwrap_or_default();
        assert_eq!(e["error"], "bad_verification_code");
    }

    #[test]
    fn an_error_with_status_200_gets_400() {
        let resp = http::Response {
            status: reqwest::StatusCode::OK,
            content_type: "application/json; charset=utf-8".into(),
            body: br#"{"error":"bad_verification_code"}"#.to_vec(),
        };
        assert_eq!(repair(&resp).map(|r| r.0).ok(), Some(400));
        let ok = http::Response {
            status: reqwest::StatusCode::OK,
            content_type: "application/x-www-form-urlencoded".into(),
            body: b"access_token=a&token_type=bearer".to_vec(),
        };
        let (s, body) = repair(&ok).unwrap_or_default();
        assert_eq!(s, 200);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap_or_default()["access_token"],
            "a"
        );
    }
}
