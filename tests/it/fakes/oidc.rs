//! A fake OpenID Connect provider: discovery, authorize (302 back with code and state),
//! token (client_secret_basic or _post, PKCE checked), JWKS, userinfo (GET and POST).
//! Knobs make it misbehave after start through `FakeHandle::set`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use url::Url;

use super::{
    Keys, TokenKnobs, bearer, client_credentials, id_token_claims, pkce_ok, random, redirect_back,
    serve,
};

/// Behaviour of the fake; change it after start with `FakeHandle::set`.
#[derive(Clone, Debug)]
pub struct OidcOpts {
    pub client_id: String,
    pub client_secret: String,
    /// Claims of the signed-in user (`sub`, `email`, ...), in id_token and userinfo.
    pub user: Map<String, Value>,
    pub token: TokenKnobs,
    /// `error=access_denied` instead of a code.
    pub deny: bool,
    /// Add `iss` to the authorization response (RFC 9207) with this value.
    pub callback_iss: Option<String>,
    /// Advertise `authorization_response_iss_parameter_supported`.
    pub advertise_iss_param: bool,
    /// `id_token_signing_alg_values_supported`; `None` leaves it out of discovery.
    pub algs: Option<Vec<String>>,
    /// Extra claims only userinfo returns.
    pub userinfo_extra: Map<String, Value>,
    /// Make userinfo answer for a different subject.
    pub userinfo_sub: Option<String>,
    /// Leave `id_token` out of the token response.
    pub omit_id_token: bool,
    /// Sign id_tokens with ES256 (P-256) keys instead of RS256. Read at start only.
    pub es256: bool,
    /// The client's registered public JWK: when set, only `private_key_jwt` (RFC 7523)
    /// authenticates it, checked for signature, `iss`/`sub`, `aud` = the token endpoint,
    /// `exp` and a `jti` used only once.
    pub client_jwk: Option<Value>,
}

impl Default for OidcOpts {
    fn default() -> Self {
        let user = json!({"sub": "user-1", "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace"});
        Self {
            client_id: "rp-client".into(),
            client_secret: "rp-secret".into(),
            user: user.as_object().cloned().unwrap_or_default(),
            token: TokenKnobs::default(),
            deny: false,
            callback_iss: None,
            advertise_iss_param: false,
            algs: Some(vec!["RS256".into()]),
            userinfo_extra: Map::new(),
            userinfo_sub: None,
            omit_id_token: false,
            es256: false,
            client_jwk: None,
        }
    }
}

struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
}

/// What the fake saw, for assertions.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub jwks_fetches: usize,
    pub discovery_fetches: usize,
    pub token_auth: Vec<String>,
    pub userinfo_methods: Vec<String>,
    pub authorize_queries: Vec<BTreeMap<String, String>>,
    /// Why each refused client assertion was refused.
    pub assertion_errors: Vec<String>,
}

struct Inner {
    opts: OidcOpts,
    keys: Keys,
    codes: HashMap<String, Grant>,
    access: HashMap<String, Map<String, Value>>,
    seen: Seen,
    jtis: std::collections::HashSet<String>,
}

#[derive(Clone)]
struct AppState {
    issuer: String,
    inner: Arc<Mutex<Inner>>,
}

/// A running fake.
#[derive(Clone)]
pub struct FakeHandle {
    /// `http://127.0.0.1:PORT`: the issuer and discovery base.
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHandle {
    /// The issuer as `iss` carries it (no trailing slash).
    pub fn issuer(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }
    pub fn set(&self, f: impl FnOnce(&mut OidcOpts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn opts(&self) -> OidcOpts {
        self.inner.lock().unwrap().opts.clone()
    }
    /// Signs with a new key and publishes only it.
    pub fn rotate_key(&self) {
        self.inner.lock().unwrap().keys.rotate();
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    /// Ready-to-use `details` of an `OIDC` registration pointing at this fake.
    pub fn details(&self) -> Value {
        let o = self.opts();
        json!({"client_id": o.client_id, "client_secret": o.client_secret, "issuer": self.issuer()})
    }
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }
    /// An id_token as the provider's native SDK hands it to an app: issued to
    /// `audience`, with the fake's user and `knobs` (token exchange tests).
    pub fn mint(&self, audience: &str, nonce: Option<&str>, knobs: &TokenKnobs) -> String {
        let inner = self.inner.lock().unwrap();
        let claims = id_token_claims(&self.issuer(), audience, nonce, "", &inner.opts.user, knobs);
        let keys = inner.keys.clone();
        drop(inner);
        keys.sign(knobs.sign, &claims)
    }
}

/// The checks an IdP makes of a `private_key_jwt` assertion (RFC 7523 section 3).
fn check_assertion(
    inner: &mut Inner,
    issuer: &str,
    form: &BTreeMap<String, String>,
) -> Result<(), String> {
    if form.get("client_assertion_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return Err("client_assertion_type".into());
    }
    let jwk = inner.opts.client_jwk.clone().ok_or("no key registered")?;
    let token = form.get("client_assertion").ok_or("no client_assertion")?;
    let (_, c) = super::jwt::verify_with_jwk(token, &jwk)?;
    let id = &inner.opts.client_id;
    if c["iss"] != json!(id) || c["sub"] != json!(id) {
        return Err("iss/sub is not the client".into());
    }
    if form.get("client_id").is_some_and(|f| f != id) {
        return Err("client_id differs".into());
    }
    if c["aud"] != json!(format!("{issuer}/token")) {
        return Err(format!("aud {} is not the token endpoint", c["aud"]));
    }
    let now = super::now();
    if c["exp"].as_i64().is_none_or(|e| e <= now) {
        return Err("expired".into());
    }
    let jti = c["jti"].as_str().ok_or("no jti")?.to_owned();
    if !inner.jtis.insert(jti) {
        return Err("jti replayed".into());
    }
    Ok(())
}

pub async fn start(opts: OidcOpts) -> FakeHandle {
    let keys = Keys::with_ec(opts.es256);
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        keys,
        codes: HashMap::new(),
        access: HashMap::new(),
        seen: Seen::default(),
        jtis: Default::default(),
    }));
    // The issuer is only known after binding; the router reads it from a cell.
    let issuer_cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let cell = issuer_cell.clone();
    let inner2 = inner.clone();
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize))
        .route("/token", axum::routing::post(token))
        .route("/jwks", get(jwks))
        // 307 keeps method and body: a client that followed it would get tokens.
        .route(
            "/moved-token",
            axum::routing::post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/token")],
                )
            }),
        )
        .route("/userinfo", get(userinfo).post(userinfo))
        .with_state(Lazy {
            cell,
            inner: inner2,
        });
    let (base, _task) = serve(app).await;
    *issuer_cell.lock().unwrap() = base.as_str().trim_end_matches('/').to_owned();
    FakeHandle { base, inner }
}

#[derive(Clone)]
struct Lazy {
    cell: Arc<Mutex<String>>,
    inner: Arc<Mutex<Inner>>,
}

impl Lazy {
    fn state(&self) -> AppState {
        AppState {
            issuer: self.cell.lock().unwrap().clone(),
            inner: self.inner.clone(),
        }
    }
}

async fn discovery(State(l): State<Lazy>) -> Json<Value> {
    let s = l.state();
    let mut inner = s.inner.lock().unwrap();
    inner.seen.discovery_fetches += 1;
    let i = &s.issuer;
    let mut doc = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    });
    if let Some(algs) = &inner.opts.algs {
        doc["id_token_signing_alg_values_supported"] = json!(algs);
    }
    if inner.opts.advertise_iss_param {
        doc["authorization_response_iss_parameter_supported"] = json!(true);
    }
    Json(doc)
}

async fn authorize(State(l): State<Lazy>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let s = l.state();
    let mut inner = s.inner.lock().unwrap();
    inner.seen.authorize_queries.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and state required").into_response();
    };
    if q.get("client_id") != Some(&inner.opts.client_id)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return (StatusCode::BAD_REQUEST, "unknown client or response_type").into_response();
    }
    if inner.opts.deny {
        return redirect_back(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user cancelled"),
                ("state", state),
            ],
        );
    }
    if q.contains_key("code_challenge")
        && q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return redirect_back(
            redirect_uri,
            &[("error", "invalid_request"), ("state", state)],
        );
    }
    let code = random();
    inner.codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            nonce: q.get("nonce").cloned(),
            challenge: q.get("code_challenge").cloned(),
        },
    );
    let mut params = vec![("code", code.as_str()), ("state", state.as_str())];
    let iss = inner.opts.callback_iss.clone();
    if let Some(iss) = &iss {
        params.push(("iss", iss));
    }
    redirect_back(redirect_uri, &params)
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": code}))).into_response()
}

async fn token(
    State(l): State<Lazy>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let s = l.state();
    let mut inner = s.inner.lock().unwrap();
    if form.contains_key("client_assertion") || inner.opts.client_jwk.is_some() {
        inner.seen.token_auth.push("private_key_jwt".into());
        if let Err(why) = check_assertion(&mut inner, &s.issuer, &form) {
            inner.seen.assertion_errors.push(why);
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
    } else {
        let Some((id, secret, method)) = client_credentials(&headers, &form) else {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        };
        inner.seen.token_auth.push(method.to_owned());
        if id != inner.opts.client_id || secret != inner.opts.client_secret {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        || !pkce_ok(
            grant.challenge.as_deref(),
            form.get("code_verifier").map(String::as_str),
        )
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access = random();
    let claims = id_token_claims(
        &s.issuer,
        &inner.opts.client_id,
        grant.nonce.as_deref(),
        &access,
        &inner.opts.user,
        &inner.opts.token,
    );
    let (keys, mode, omit) = (
        inner.keys.clone(),
        inner.opts.token.sign,
        inner.opts.omit_id_token,
    );
    let user = inner.opts.user.clone();
    inner.access.insert(access.clone(), user);
    // Sign after releasing the lock: concurrent token requests are not serialized on it.
    drop(inner);
    let id_token = keys.sign(mode, &claims);
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 3600, "id_token": id_token});
    if omit {
        body.as_object_mut().map(|m| m.remove("id_token"));
    }
    Json(body).into_response()
}

async fn jwks(State(l): State<Lazy>) -> Json<Value> {
    let s = l.state();
    let mut inner = s.inner.lock().unwrap();
    inner.seen.jwks_fetches += 1;
    Json(inner.keys.jwks())
}

async fn userinfo(State(l): State<Lazy>, method: Method, headers: HeaderMap) -> Response {
    let s = l.state();
    let mut inner = s.inner.lock().unwrap();
    inner.seen.userinfo_methods.push(method.to_string());
    let Some(user) = bearer(&headers).and_then(|t| inner.access.get(&t).cloned()) else {
        return (
            StatusCode::UNAUTHORIZED,
            [("WWW-Authenticate", "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let mut out = user;
    for (k, v) in &inner.opts.userinfo_extra {
        out.insert(k.clone(), v.clone());
    }
    if let Some(sub) = &inner.opts.userinfo_sub {
        out.insert("sub".into(), json!(sub));
    }
    Json(Value::Object(out)).into_response()
}
