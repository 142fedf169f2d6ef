//! OAuth 2.0 authorization code flow (RFC 6749 section 4.1) with PKCE S256 (RFC 7636):
//! building the authorize URL, reading the callback, and exchanging the code at the
//! token endpoint with `client_secret_basic` or `client_secret_post` (section 2.3.1).

use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use url::Url;

use super::http::{self, truncate};
use crate::provider::{BeginResponse, BrowserAction, CallbackParams, ProviderError, UpstreamState};

/// Keys of `UpstreamState` written by `begin` and read back by `complete`.
pub const ST_STATE: &str = "state";
pub const ST_VERIFIER: &str = "pkce_verifier";
pub const ST_NONCE: &str = "nonce";

/// 256 random bits, base64url: PKCE verifiers (43 characters, RFC 7636 4.1) and nonces.
pub fn random_token() -> Result<String, ProviderError> {
    let mut buf = [0u8; 32];
    SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| ProviderError::Upstream("the system random generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// The S256 challenge of a verifier (RFC 7636 4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

/// Percent-encodes everything but RFC 3986 unreserved characters. Spaces become `%20`,
/// never `+`: Apple's sign-in sheet reads `name+email` as one unknown scope.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Builds an authorize URL: the endpoint (keeping any query it has) plus `params`.
pub fn authorize_url(base: &Url, params: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    let added: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    let query = match base.query().filter(|q| !q.is_empty()) {
        Some(existing) => format!("{existing}&{}", added.join("&")),
        None => added.join("&"),
    };
    url.set_query(Some(&query));
    url
}

/// Authorize-request parameters, in order.
pub type AuthorizeParams = Vec<(&'static str, String)>;

/// Starts a code flow: returns the state to keep and the parameters every kind sends
/// (`response_type`, `client_id`, `redirect_uri`, `state`, and the PKCE challenge when
/// `pkce` is set).
pub fn begin_code_flow(
    client_id: &str,
    redirect_uri: &Url,
    state: &str,
    pkce: bool,
) -> Result<(UpstreamState, AuthorizeParams), ProviderError> {
    let mut st = UpstreamState::default();
    st.set(ST_STATE, state);
    let mut params = vec![
        ("response_type", "code".to_owned()),
        ("client_id", client_id.to_owned()),
        ("redirect_uri", redirect_uri.to_string()),
        ("state", state.to_owned()),
    ];
    if pkce {
        let verifier = random_token()?;
        params.push(("code_challenge", pkce_challenge(&verifier)));
        params.push(("code_challenge_method", "S256".to_owned()));
        st.set(ST_VERIFIER, verifier);
    }
    Ok((st, params))
}

/// The whole `begin` of a plain OAuth2 kind (Facebook, Amazon): the code-flow
/// parameters plus `scope`, as a redirect to `authorize_url`.
pub fn redirect_begin(
    authorize: &Url,
    client_id: &str,
    redirect_uri: &Url,
    state: &str,
    pkce: bool,
    scope: String,
) -> Result<BeginResponse, ProviderError> {
    let (st, mut params) = begin_code_flow(client_id, redirect_uri, state, pkce)?;
    params.push(("scope", scope));
    let all: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(BeginResponse {
        action: BrowserAction::Redirect(authorize_url(authorize, &all)),
        upstream_state: st,
    })
}

/// The code of a checked callback exchanged at `token_url` with `client_secret_post`
/// and the PKCE verifier kept in `st` (Facebook, Amazon), over the `oauth2` crate.
pub async fn complete_code_post(
    http_client: &reqwest::Client,
    params: &CallbackParams,
    st: &UpstreamState,
    token_url: &Url,
    redirect_uri: &Url,
    client_id: &str,
    client_secret: &str,
) -> Result<TokenResponse, ProviderError> {
    let code = callback_code(params, st)?;
    super::plain::exchange(
        http_client,
        &super::plain::Exchange {
            token_url,
            client_id,
            client_secret,
            auth: TokenAuth::Post,
            code,
            code_verifier: st.get(ST_VERIFIER),
            redirect_uri,
            user_agent: http::USER_AGENT,
        },
    )
    .await
}

/// Reads the callback: an upstream `error` (RFC 6749 4.1.2.1) becomes `Denied` or
/// `Upstream`; otherwise the `state` must be the one sent and a `code` must be present.
/// Returns the code.
pub fn callback_code<'a>(
    params: &'a CallbackParams,
    st: &UpstreamState,
) -> Result<&'a str, ProviderError> {
    if let Some(err) = params.get("error") {
        // Apple reports Cancel as `user_cancelled_authorize`; Facebook sends
        // `error=access_denied` with `error_reason=user_denied`.
        if err == "access_denied" || err == "user_cancelled_authorize" {
            return Err(ProviderError::Denied);
        }
        return Err(ProviderError::Upstream(format!(
            "upstream answered error {:?}",
            truncate(err, 80)
        )));
    }
    let sent = st
        .get(ST_STATE)
        .ok_or_else(|| ProviderError::Rejected("sign-in state lost".into()))?;
    let got = params.get("state").unwrap_or("");
    if !bool::from(sent.as_bytes().ct_eq(got.as_bytes())) {
        return Err(ProviderError::Rejected(
            "callback state does not match the sign-in".into(),
        ));
    }
    match params.get("code") {
        Some(code) if !code.is_empty() && code.len() <= 4096 => Ok(code),
        Some(_) => Err(ProviderError::Rejected(
            "callback code is empty or too long".into(),
        )),
        None => Err(ProviderError::Rejected("callback carries no code".into())),
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenAuth {
    /// HTTP Basic with the form-urlencoded id and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

impl TokenAuth {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(TokenAuth::Basic),
            "client_secret_post" => Some(TokenAuth::Post),
            _ => None,
        }
    }
}

/// A code-for-token request.
pub struct CodeExchange<'a> {
    pub token_url: &'a Url,
    pub code: &'a str,
    pub redirect_uri: &'a Url,
    pub code_verifier: Option<&'a str>,
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub auth: TokenAuth,
    /// A `private_key_jwt` assertion (RFC 7523 2.2): sent instead of the secret.
    pub client_assertion: Option<&'a str>,
}

/// The token endpoint's answer. Hand-written `Debug`: it carries tokens.
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: Option<String>,
    pub token_type: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("has_id_token", &self.id_token.is_some())
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// Exchanges the code (RFC 6749 4.1.3) and reads the answer (5.1, errors 5.2).
pub async fn exchange_code(
    http_client: &reqwest::Client,
    x: &CodeExchange<'_>,
) -> Result<TokenResponse, ProviderError> {
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "authorization_code"), ("code", x.code)];
    let redirect = x.redirect_uri.to_string();
    form.push(("redirect_uri", &redirect));
    if let Some(v) = x.code_verifier {
        form.push(("code_verifier", v));
    }
    let mut req = http_client
        .post(x.token_url.clone())
        .header(reqwest::header::ACCEPT, "application/json");
    match x.auth {
        _ if x.client_assertion.is_some() => {
            form.push(("client_id", x.client_id));
            form.push(("client_assertion_type", super::assertion::ASSERTION_TYPE));
            form.push(("client_assertion", x.client_assertion.unwrap_or_default()));
        }
        TokenAuth::Basic => {
            // RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
            let id: String = url::form_urlencoded::byte_serialize(x.client_id.as_bytes()).collect();
            let secret: String =
                url::form_urlencoded::byte_serialize(x.client_secret.as_bytes()).collect();
            req = req.basic_auth(id, Some(secret));
        }
        TokenAuth::Post => {
            form.push(("client_id", x.client_id));
            form.push(("client_secret", x.client_secret));
        }
    }
    let resp = http::send(req.form(&form), "token endpoint").await?;
    let body = resp.json_object("token endpoint");
    if !resp.status.is_success() {
        let code = body
            .ok()
            .and_then(|m| {
                m.get("error")
                    .and_then(Value::as_str)
                    .map(|s| truncate(s, 60))
            })
            .unwrap_or_else(|| "no error code".into());
        let what = format!("token endpoint: status {} ({code})", resp.status.as_u16());
        // RFC 6749 5.2: `invalid_grant` means the code the browser brought is not valid
        // (forged, replayed, expired): the sign-in is refused, the upstream is fine.
        if resp.status.as_u16() == 400 && code == "invalid_grant" {
            return Err(ProviderError::Rejected(what));
        }
        return Err(ProviderError::Upstream(what));
    }
    parse_token_response(body?)
}

fn parse_token_response(m: Map<String, Value>) -> Result<TokenResponse, ProviderError> {
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let access_token = s("access_token").filter(|t| !t.is_empty()).ok_or_else(|| {
        ProviderError::Upstream("token endpoint: no access_token in the answer".into())
    })?;
    let token_type = s("token_type");
    // RFC 6749 5.1: bearer is the only type these adapters can use (case-insensitive).
    if let Some(t) = &token_type
        && !t.eq_ignore_ascii_case("bearer")
    {
        return Err(ProviderError::Upstream(format!(
            "token endpoint: unsupported token_type {:?}",
            truncate(t, 30)
        )));
    }
    Ok(TokenResponse {
        access_token,
        id_token: s("id_token"),
        token_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn authorize_url_encodes_spaces_as_percent_20() {
        let base =
            Url::parse("https://idp.example/auth?tenant=a").unwrap_or_else(|_| unreachable!());
        let u = authorize_url(
            &base,
            &[
                ("scope", "name email"),
                ("redirect_uri", "https://p/cb?x=1&y"),
            ],
        );
        assert_eq!(
            u.as_str(),
            "https://idp.example/auth?tenant=a&scope=name%20email&redirect_uri=https%3A%2F%2Fp%2Fcb%3Fx%3D1%26y"
        );
    }

    #[test]
    fn callback_errors() {
        let mut st = UpstreamState::default();
        st.set(ST_STATE, "abc");
        let p = |pairs: &[(&str, &str)]| {
            CallbackParams(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert!(matches!(
            callback_code(&p(&[("error", "access_denied"), ("state", "abc")]), &st),
            Err(ProviderError::Denied)
        ));
        assert!(matches!(
            callback_code(&p(&[("error", "server_error")]), &st),
            Err(ProviderError::Upstream(_))
        ));
        assert!(matches!(
            callback_code(&p(&[("code", "c"), ("state", "abd")]), &st),
            Err(ProviderError::Rejected(_))
        ));
        assert!(matches!(
            callback_code(&p(&[("state", "abc")]), &st),
            Err(ProviderError::Rejected(_))
        ));
        assert_eq!(
            callback_code(&p(&[("code", "c"), ("state", "abc")]), &st).ok(),
            Some("c")
        );
    }
}
