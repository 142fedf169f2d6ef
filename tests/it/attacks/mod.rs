//! Negative tests of issue 2, driven only over HTTP through the gateway: every hostile
//! or broken request ends without a code, without a token and without a 5xx.

mod authorize;
mod bodies;
mod callback;
mod code;
mod routing;
mod tokens;
mod upstream;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{Browser, Gw, Landing, app_client_body, authorize_url, json_str, pkce};

/// The app's registered callback; never contacted (the browser stops when it is reached).
pub const APP: &str = "http://127.0.0.1:9/cb";
/// Name of the fake OIDC provider in the default pool.
pub const IDP: &str = "Fake";

/// A gateway with one fake OIDC provider and one app client using it.
pub struct Env {
    pub gw: Gw,
    pub fake: FakeHandle,
    pub client_id: String,
    pub secret: Option<String>,
}

/// One hop of a browser: status, `Location` (when any) and body.
#[derive(Debug)]
pub struct Hop {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

pub fn provider_body(fake: &FakeHandle) -> Value {
    let o = fake.opts();
    json!({
        "type": "OIDC",
        "details": {"client_id": o.client_id, "client_secret": o.client_secret, "issuer": fake.issuer()},
        "link_by_email": "never",
    })
}

impl Env {
    /// A fresh gateway, a fake provider `Fake`, a client with (or without) a secret.
    pub async fn start(secret: bool) -> Self {
        Self::start_with(OidcOpts::default(), secret).await
    }

    pub async fn start_with(opts: OidcOpts, secret: bool) -> Self {
        Self::start_on(Gw::start().await, opts, secret).await
    }

    /// As [`Env::start_with`], on a gateway already started (another clock, ...).
    pub async fn start_on(gw: Gw, opts: OidcOpts, secret: bool) -> Self {
        let fake = oidc::start(opts).await;
        gw.put_provider(IDP, provider_body(&fake)).await;
        // The attacks run with refresh-token rotation on, the stricter mode (rotation is
        // off by default, as in Cognito).
        let mut body = app_client_body(APP, &[IDP], secret);
        body["refresh_token_rotation"] = json!({"enabled": true, "retry_grace_s": 0});
        let (client_id, secret) = gw.client(body).await;
        Env {
            gw,
            fake,
            client_id,
            secret,
        }
    }

    /// `/oauth2/authorize` for the app, straight to the fake provider, with `state`,
    /// `nonce` and a PKCE challenge; returns the URL and the verifier.
    pub fn authorize(&self, state: &str) -> (String, String) {
        let (verifier, challenge) = pkce();
        let url = authorize_url(
            &self.gw,
            &self.client_id,
            APP,
            &[
                ("identity_provider", IDP),
                ("scope", "openid email profile"),
                ("state", state),
                ("nonce", "app-nonce-1"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        (url, verifier)
    }

    /// A complete sign-in in `b`: the app's callback query and the PKCE verifier.
    pub async fn sign_in_in(&self, b: &Browser) -> (BTreeMap<String, String>, String) {
        let (url, verifier) = self.authorize("app-state-1");
        match b.follow(&url, APP).await {
            Landing::App(q) => (q, verifier),
            Landing::Page(s, body) => panic!("sign-in stopped on a page: {s} {body}"),
        }
    }

    /// A complete sign-in: a code and its verifier.
    pub async fn code(&self) -> (String, String) {
        let (q, verifier) = self.sign_in_in(&Browser::new()).await;
        let code = q
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code: {q:?}"));
        (code, verifier)
    }

    /// Exchanges a code as the app client.
    pub async fn exchange(&self, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// `/oauth2/token` authenticated as the app client (Basic when it has a secret).
    pub async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        match &self.secret {
            Some(s) => self.gw.token(form, Some((&self.client_id, s))).await,
            None => {
                let mut f = form.to_vec();
                f.push(("client_id", &self.client_id));
                self.gw.token(&f, None).await
            }
        }
    }

    /// Signs in and exchanges the code: the token response.
    pub async fn tokens(&self) -> Value {
        let (code, verifier) = self.code().await;
        let (s, v) = self.exchange(&code, &verifier).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn refresh(&self, rt: &str) -> (StatusCode, Value) {
        self.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .await
    }

    /// `/oauth2/introspect` as the app client.
    pub async fn introspect(&self, token: &str) -> Value {
        let mut form = vec![("token", token)];
        let mut req = self.gw.http.post(self.gw.url("/oauth2/introspect"));
        match &self.secret {
            Some(s) => req = req.basic_auth(&self.client_id, Some(s)),
            None => form.push(("client_id", &self.client_id)),
        }
        let r = req.form(&form).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// `/oauth2/userInfo` with a bearer token: status and body.
    pub async fn userinfo(&self, at: &str) -> (StatusCode, Value) {
        let r = self
            .gw
            .http
            .get(self.gw.url("/oauth2/userInfo"))
            .bearer_auth(at)
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Asserts that every token of `tokens` is dead: the refresh fails, the access token
    /// is inactive and refused by userInfo.
    pub async fn assert_revoked(&self, tokens: &Value) {
        let (s, v) = self.refresh(&json_str(tokens, "refresh_token")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["error"], "invalid_grant");
        assert_no_token(&v);
        let at = json_str(tokens, "access_token");
        assert_eq!(self.introspect(&at).await["active"], false);
        let (s, _) = self.userinfo(&at).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }

    /// Number of users in the default pool.
    pub async fn user_count(&self) -> usize {
        let (s, v) = self.gw.admin("GET", "/pools/default/users", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["items"].as_array().unwrap().len()
    }
}

/// One GET in browser `b`, not following redirects.
pub async fn hop(b: &Browser, url: &str) -> Hop {
    let r = b.http.get(url).send().await.unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let location = location.map(|l| Url::parse(url).unwrap().join(&l).unwrap().to_string());
    Hop {
        status,
        location,
        body: r.text().await.unwrap_or_default(),
    }
}

/// The query of a URL as a map.
pub fn query(url: &str) -> BTreeMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Asserts an error page: a 4xx HTML page that redirects nowhere.
pub fn assert_error_page(h: &Hop) {
    assert!(h.status.is_client_error(), "{h:?}");
    assert!(
        h.location.is_none(),
        "an error page must not redirect: {h:?}"
    );
    assert!(h.body.contains("<html"), "not an HTML page: {h:?}");
    assert!(!h.body.contains("code="), "{h:?}");
}

/// Asserts that a landing at the app is an error with `code` and the app's state, and
/// carries no authorization code.
pub fn assert_app_error(l: &Landing, code: &str, state: &str) {
    match l {
        Landing::App(q) => {
            assert!(!q.contains_key("code"), "a code was issued: {q:?}");
            assert_eq!(q.get("error").map(String::as_str), Some(code), "{q:?}");
            assert_eq!(q.get("state").map(String::as_str), Some(state), "{q:?}");
        }
        Landing::Page(s, b) => panic!("expected a redirect to the app, got a page {s}: {b}"),
    }
}

/// Asserts that a JSON answer carries no token of any kind.
pub fn assert_no_token(v: &Value) {
    for k in ["access_token", "id_token", "refresh_token", "code"] {
        assert!(v.get(k).is_none(), "{k} issued: {v}");
    }
}
