//! A fake plain OAuth 2.0 provider (not OpenID Connect): `/oauth/authorize`,
//! `/oauth/token` (one client authentication method, as configured; PKCE checked and,
//! when `require_pkce`, required; answers form-encoded when `form_answers`) and `/api/me`,
//! a userinfo with the user nested under `data` (`data.id` numeric, `data.mail`,
//! `data.mail_confirmed`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use url::Url;

use super::{bearer, client_credentials, pkce_ok, random, redirect_back, serve};

#[derive(Clone, Debug)]
pub struct OAuth2Opts {
    pub client_id: String,
    pub client_secret: String,
    /// `client_secret_basic` or `client_secret_post`: the only method accepted.
    pub auth: &'static str,
    pub require_pkce: bool,
    pub form_answers: bool,
    pub me: Value,
}

impl Default for OAuth2Opts {
    fn default() -> Self {
        Self {
            client_id: "plain-client".into(),
            client_secret: "plain secret/with+odd=chars".into(),
            auth: "client_secret_basic",
            require_pkce: false,
            form_answers: false,
            me: json!({"data": {"id": 4711, "mail": "kay@example.com", "mail_confirmed": true,
                "display_name": "Kay Example", "avatar": {"url": "https://img.example/k.png"}}}),
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub authorize_queries: Vec<BTreeMap<String, String>>,
    pub token_auth: Vec<String>,
}

struct Inner {
    opts: OAuth2Opts,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, ()>,
    seen: Seen,
}

#[derive(Clone)]
pub struct FakeHandle {
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHandle {
    pub fn set(&self, f: impl FnOnce(&mut OAuth2Opts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }
    /// `details` of an `OAuth2` registration for this fake.
    pub fn details(&self) -> Value {
        let o = self.inner.lock().unwrap().opts.clone();
        json!({
            "client_id": o.client_id, "client_secret": o.client_secret,
            "authorize_url": self.url("/oauth/authorize"), "token_url": self.url("/oauth/token"),
            "userinfo_url": self.url("/api/me"), "authorize_scopes": "identify email",
            "subject_attribute": "data.id", "token_endpoint_auth_method": o.auth,
        })
    }
}

type St = Arc<Mutex<Inner>>;

pub async fn start(opts: OAuth2Opts) -> FakeHandle {
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        codes: HashMap::new(),
        tokens: HashMap::new(),
        seen: Seen::default(),
    }));
    let app = Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/api/me", get(me))
        .with_state(inner.clone());
    let (base, _task) = serve(app).await;
    FakeHandle { base, inner }
}

async fn authorize(State(s): State<St>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let mut inner = s.lock().unwrap();
    inner.seen.authorize_queries.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and state required").into_response();
    };
    if q.get("client_id") != Some(&inner.opts.client_id)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return (StatusCode::BAD_REQUEST, "bad client").into_response();
    }
    if inner.opts.require_pkce && q.get("code_challenge_method").map(String::as_str) != Some("S256")
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
            challenge: q.get("code_challenge").cloned(),
        },
    );
    redirect_back(redirect_uri, &[("code", &code), ("state", state)])
}

fn answer(form: bool, status: StatusCode, pairs: &[(&str, &str)]) -> Response {
    if form {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        (
            status,
            [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
            body,
        )
            .into_response()
    } else {
        let m: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        (status, Json(Value::Object(m))).into_response()
    }
}

async fn token(
    State(s): State<St>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut inner = s.lock().unwrap();
    let f = inner.opts.form_answers;
    let Some((id, secret, method)) = client_credentials(&headers, &form) else {
        return answer(f, StatusCode::UNAUTHORIZED, &[("error", "invalid_client")]);
    };
    inner.seen.token_auth.push(method.to_owned());
    if method != inner.opts.auth || id != inner.opts.client_id || secret != inner.opts.client_secret
    {
        return answer(f, StatusCode::UNAUTHORIZED, &[("error", "invalid_client")]);
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return answer(f, StatusCode::BAD_REQUEST, &[("error", "invalid_grant")]);
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        || !pkce_ok(
            grant.challenge.as_deref(),
            form.get("code_verifier").map(String::as_str),
        )
    {
        return answer(f, StatusCode::BAD_REQUEST, &[("error", "invalid_grant")]);
    }
    let token = random();
    inner.tokens.insert(token.clone(), ());
    answer(
        f,
        StatusCode::OK,
        &[
            ("access_token", &token),
            ("token_type", "Bearer"),
            ("expires_in", "3600"),
        ],
    )
}

async fn me(State(s): State<St>, headers: HeaderMap) -> Response {
    let inner = s.lock().unwrap();
    match bearer(&headers).filter(|t| inner.tokens.contains_key(t)) {
        Some(_) => Json(inner.opts.me.clone()).into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response(),
    }
}
