//! A fake Sign in with Apple: `/auth/authorize` answers the auto-posting `form_post`
//! page (code, state, and the `user` JSON on a user's first authorization only),
//! `/auth/token` VERIFIES the ES256 client-secret JWT against the registered `.p8`
//! public key and its claims, `/auth/keys` publishes the JWKS.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use url::Url;

use super::{Keys, TokenKnobs, form_post_page, id_token_claims, jwt, now, random, serve};

#[derive(Clone, Debug)]
pub struct AppleOpts {
    pub client_id: String,
    pub team_id: String,
    pub key_id: String,
    /// The uncompressed P-256 public key of the registration's `.p8`.
    pub client_public_key: Vec<u8>,
    pub sub: String,
    pub email: String,
    /// Write `email_verified`/`is_private_email` as strings ("true") instead of booleans.
    pub bools_as_strings: bool,
    pub is_private_email: bool,
    pub first_name: String,
    pub last_name: String,
    pub token: TokenKnobs,
    /// Cancel at Apple (`error=user_cancelled_authorize`).
    pub deny: bool,
}

impl AppleOpts {
    /// Options with a freshly generated `.p8` key; returns its PEM for the registration.
    pub fn generate() -> (Self, String) {
        let (pem, public) = jwt::generate_p8();
        (Self::new(public), pem)
    }

    pub fn new(client_public_key: Vec<u8>) -> Self {
        Self {
            client_id: "com.example.web".into(),
            team_id: "TEAM123456".into(),
            key_id: "KEY1234567".into(),
            client_public_key,
            sub: "001234.abcdef0123456789.1234".into(),
            email: "kq9x@privaterelay.appleid.com".into(),
            bools_as_strings: true,
            is_private_email: true,
            first_name: "Katherine".into(),
            last_name: "Johnson".into(),
            token: TokenKnobs::default(),
            deny: false,
        }
    }
}

struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Client secrets refused, with the reason.
    pub refused_secrets: Vec<String>,
    pub accepted_secrets: usize,
    /// Every client secret presented, in order.
    pub secrets: Vec<String>,
    pub authorize_queries: Vec<BTreeMap<String, String>>,
}

struct Inner {
    opts: AppleOpts,
    keys: Keys,
    codes: HashMap<String, Grant>,
    /// Subjects that already authorized this client: the `user` field is not sent again.
    authorized: HashSet<String>,
    seen: Seen,
}

#[derive(Clone)]
pub struct FakeHandle {
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHandle {
    pub fn issuer(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }
    pub fn set(&self, f: impl FnOnce(&mut AppleOpts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    /// Forget past authorizations: the next sign-in carries `user` again.
    pub fn forget_users(&self) {
        self.inner.lock().unwrap().authorized.clear();
    }
    /// Ready-to-use `details` of a `SignInWithApple` registration pointing at this fake.
    pub fn details(&self, private_key_pem: &str) -> Value {
        let o = self.inner.lock().unwrap().opts.clone();
        json!({
            "client_id": o.client_id, "team_id": o.team_id, "key_id": o.key_id,
            "private_key": private_key_pem, "endpoints": self.endpoints(),
        })
    }

    /// The `details.endpoints` pointing the Apple adapter at this fake.
    pub fn endpoints(&self) -> Value {
        let i = self.issuer();
        json!({"issuer": i, "authorize_url": format!("{i}/auth/authorize"), "token_url": format!("{i}/auth/token"), "jwks_uri": format!("{i}/auth/keys")})
    }
}

#[derive(Clone)]
struct St {
    issuer: Arc<Mutex<String>>,
    inner: Arc<Mutex<Inner>>,
}

pub async fn start(opts: AppleOpts) -> FakeHandle {
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        keys: Keys::new(),
        codes: HashMap::new(),
        authorized: HashSet::new(),
        seen: Seen::default(),
    }));
    let issuer = Arc::new(Mutex::new(String::new()));
    let app = Router::new()
        .route("/auth/authorize", get(authorize))
        .route("/auth/token", post(token))
        .route("/auth/keys", get(keys))
        .with_state(St {
            issuer: issuer.clone(),
            inner: inner.clone(),
        });
    let (base, _task) = serve(app).await;
    *issuer.lock().unwrap() = base.as_str().trim_end_matches('/').to_owned();
    FakeHandle { base, inner }
}

async fn authorize(State(s): State<St>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let mut inner = s.inner.lock().unwrap();
    inner.seen.authorize_queries.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    };
    if q.get("client_id") != Some(&inner.opts.client_id)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return (StatusCode::BAD_REQUEST, "invalid_client").into_response();
    }
    let scope = q.get("scope").cloned().unwrap_or_default();
    let wants_user = scope.split(' ').any(|s| s == "name" || s == "email");
    // Apple refuses name/email scopes unless the response is form_post.
    if wants_user && q.get("response_mode").map(String::as_str) != Some("form_post") {
        return (
            StatusCode::BAD_REQUEST,
            "invalid_request: response_mode must be form_post",
        )
            .into_response();
    }
    if inner.opts.deny {
        let fields = vec![
            ("error".to_owned(), "user_cancelled_authorize".to_owned()),
            ("state".to_owned(), state.clone()),
        ];
        return Html(form_post_page(redirect_uri, &fields)).into_response();
    }
    let code = random();
    inner.codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            nonce: q.get("nonce").cloned(),
        },
    );
    let mut fields = vec![
        ("state".to_owned(), state.clone()),
        ("code".to_owned(), code),
    ];
    let sub = inner.opts.sub.clone();
    if wants_user && inner.authorized.insert(sub) {
        let user = json!({"name": {"firstName": inner.opts.first_name, "lastName": inner.opts.last_name}, "email": inner.opts.email});
        fields.push(("user".to_owned(), user.to_string()));
    }
    Html(form_post_page(redirect_uri, &fields)).into_response()
}

/// Checks the client secret as Apple does: ES256 by the registered key, `kid`, `iss`
/// (team), `sub` (client), `aud` (issuer), `iat`/`exp` with at most 15,777,000 s between.
fn check_client_secret(o: &AppleOpts, issuer: &str, secret: &str) -> Result<(), String> {
    let (header, c) = jwt::verify_es256(secret, &o.client_public_key)?;
    let now = now();
    let num = |k: &str| c[k].as_i64().ok_or(format!("{k} missing"));
    if header["kid"] != json!(o.key_id) {
        return Err("kid".into());
    }
    if c["iss"] != json!(o.team_id) || c["sub"] != json!(o.client_id) || c["aud"] != json!(issuer) {
        return Err("iss/sub/aud".into());
    }
    let (iat, exp) = (num("iat")?, num("exp")?);
    if iat > now + 60 || exp <= now || exp - iat > 15_777_000 {
        return Err("iat/exp".into());
    }
    Ok(())
}

async fn token(State(s): State<St>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let issuer = s.issuer.lock().unwrap().clone();
    let mut inner = s.inner.lock().unwrap();
    let err = |code: &str| (StatusCode::BAD_REQUEST, Json(json!({"error": code}))).into_response();
    if form.get("client_id") != Some(&inner.opts.client_id) {
        return err("invalid_client");
    }
    inner
        .seen
        .secrets
        .push(form.get("client_secret").cloned().unwrap_or_default());
    if let Err(why) = check_client_secret(
        &inner.opts,
        &issuer,
        form.get("client_secret").map(String::as_str).unwrap_or(""),
    ) {
        inner.seen.refused_secrets.push(why);
        return err("invalid_client");
    }
    inner.seen.accepted_secrets += 1;
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return err("unsupported_grant_type");
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return err("invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return err("invalid_grant");
    }
    let o = &inner.opts;
    let user = user_claims(o);
    let access = random();
    let claims = id_token_claims(
        &issuer,
        &o.client_id,
        grant.nonce.as_deref(),
        &access,
        &user,
        &o.token,
    );
    let id_token = inner.keys.sign(o.token.sign, &claims);
    Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": random(), "id_token": id_token})).into_response()
}

/// The user's claims in Apple's id_tokens.
fn user_claims(o: &AppleOpts) -> Map<String, Value> {
    let b = |v: bool| {
        if o.bools_as_strings {
            json!(v.to_string())
        } else {
            json!(v)
        }
    };
    let mut user = Map::new();
    user.insert("sub".into(), json!(o.sub));
    user.insert("email".into(), json!(o.email));
    user.insert("email_verified".into(), b(true));
    user.insert("is_private_email".into(), b(o.is_private_email));
    user.insert("auth_time".into(), json!(now()));
    user.insert("nonce_supported".into(), json!(true));
    user
}

impl FakeHandle {
    /// An id_token as Sign in with Apple hands it to an app on a device: `aud` is the
    /// app's bundle id, `nonce` what the app passed (the SHA-256 hex of its nonce).
    pub fn mint(&self, bundle_id: &str, nonce: Option<&str>) -> String {
        let inner = self.inner.lock().unwrap();
        let o = &inner.opts;
        let claims = id_token_claims(
            &self.issuer(),
            bundle_id,
            nonce,
            "",
            &user_claims(o),
            &o.token,
        );
        inner.keys.sign(o.token.sign, &claims)
    }
}

async fn keys(State(s): State<St>) -> Json<Value> {
    Json(s.inner.lock().unwrap().keys.jwks())
}
