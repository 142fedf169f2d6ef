//! A fake Facebook: `/{version}/dialog/oauth` (302 back with code and state),
//! `/{version}/oauth/access_token` (GET or POST), and Graph `/{version}/me`, which
//! VERIFIES `appsecret_proof` (hex HMAC-SHA256 of the token keyed with the app secret)
//! and answers only the requested `fields`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use url::Url;

use super::{bearer, pkce_ok, random, redirect_back, serve};

#[derive(Clone, Debug)]
pub struct FacebookOpts {
    pub app_id: String,
    pub app_secret: String,
    /// The Graph fields of the user; `picture` is given as a URL and served nested.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub picture_url: String,
    pub deny: bool,
}

impl Default for FacebookOpts {
    fn default() -> Self {
        Self {
            app_id: "1234567890".into(),
            app_secret: "fb-app-secret".into(),
            id: "10158000000000001".into(),
            name: "Mary Jackson".into(),
            email: Some("mary@example.com".into()),
            first_name: "Mary".into(),
            last_name: "Jackson".into(),
            picture_url: "https://platform-lookaside.fbsbx.com/p.jpg".into(),
            deny: false,
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub graph_calls: usize,
    pub bad_proofs: usize,
    pub versions: Vec<String>,
    pub authorize_queries: Vec<BTreeMap<String, String>>,
}

struct Inner {
    opts: FacebookOpts,
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
    pub fn set(&self, f: impl FnOnce(&mut FacebookOpts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    /// Ready-to-use `details` of a `Facebook` registration pointing at this fake (v26.0).
    pub fn details(&self) -> Value {
        let o = self.inner.lock().unwrap().opts.clone();
        json!({"client_id": o.app_id, "client_secret": o.app_secret, "endpoints": self.endpoints("v26.0")})
    }

    /// The `details.endpoints` pointing the Facebook adapter at this fake.
    pub fn endpoints(&self, version: &str) -> Value {
        let b = self.base.as_str().trim_end_matches('/');
        json!({
            "authorize_url": format!("{b}/{version}/dialog/oauth"),
            "token_url": format!("{b}/{version}/oauth/access_token"),
            "userinfo_url": format!("{b}/{version}/me"),
        })
    }
}

pub async fn start(opts: FacebookOpts) -> FakeHandle {
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        codes: HashMap::new(),
        tokens: HashMap::new(),
        seen: Seen::default(),
    }));
    let app = Router::new()
        .route("/{version}/dialog/oauth", get(dialog))
        .route(
            "/{version}/oauth/access_token",
            get(access_token).post(access_token),
        )
        .route("/{version}/me", get(me))
        .with_state(inner.clone());
    let (base, _task) = serve(app).await;
    FakeHandle { base, inner }
}

type St = Arc<Mutex<Inner>>;

fn graph_error(status: StatusCode, message: &str, kind: &str, code: u32) -> Response {
    (status, Json(json!({"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "AbCdEf"}}))).into_response()
}

async fn dialog(
    State(s): State<St>,
    Path(version): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let mut inner = s.lock().unwrap();
    inner.seen.versions.push(version);
    inner.seen.authorize_queries.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri and state required").into_response();
    };
    if q.get("client_id") != Some(&inner.opts.app_id) {
        return (StatusCode::BAD_REQUEST, "Invalid App ID").into_response();
    }
    if inner.opts.deny {
        return redirect_back(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_code", "200"),
                ("error_description", "Permissions error"),
                ("error_reason", "user_denied"),
                ("state", state),
            ],
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

async fn access_token(
    State(s): State<St>,
    method: Method,
    Query(q): Query<BTreeMap<String, String>>,
    RawForm(body): RawForm,
) -> Response {
    let params: BTreeMap<String, String> = if method == Method::POST {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        q
    };
    let mut inner = s.lock().unwrap();
    if params.get("client_id") != Some(&inner.opts.app_id)
        || params.get("client_secret") != Some(&inner.opts.app_secret)
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Error validating client secret.",
            "OAuthException",
            1,
        );
    }
    let Some(grant) = params.get("code").and_then(|c| inner.codes.remove(c)) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid verification code format.",
            "OAuthException",
            100,
        );
    };
    if params.get("redirect_uri") != Some(&grant.redirect_uri) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Error validating verification code.",
            "OAuthException",
            100,
        );
    }
    if !pkce_ok(
        grant.challenge.as_deref(),
        params.get("code_verifier").map(String::as_str),
    ) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid code verifier.",
            "OAuthException",
            100,
        );
    }
    let token = format!("EAAB{}", random());
    inner.tokens.insert(token.clone(), ());
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 5183944}))
        .into_response()
}

async fn me(
    State(s): State<St>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let mut inner = s.lock().unwrap();
    inner.seen.graph_calls += 1;
    let Some(token) = bearer(&headers).or_else(|| q.get("access_token").cloned()) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "An active access token must be used",
            "OAuthException",
            2500,
        );
    };
    if !inner.tokens.contains_key(&token) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid OAuth access token.",
            "OAuthException",
            190,
        );
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, inner.opts.app_secret.as_bytes());
    let want = hex::encode(hmac::sign(&key, token.as_bytes()).as_ref());
    if q.get("appsecret_proof") != Some(&want) {
        inner.seen.bad_proofs += 1;
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid appsecret_proof provided in the API argument",
            "GraphMethodException",
            100,
        );
    }
    let o = &inner.opts;
    let mut all = serde_json::Map::new();
    all.insert("id".into(), json!(o.id));
    all.insert("name".into(), json!(o.name));
    if let Some(e) = &o.email {
        all.insert("email".into(), json!(e));
    }
    all.insert("first_name".into(), json!(o.first_name));
    all.insert("last_name".into(), json!(o.last_name));
    all.insert(
        "picture".into(),
        json!({"data": {"height": 50, "is_silhouette": false, "url": o.picture_url, "width": 50}}),
    );
    let fields = q.get("fields").cloned().unwrap_or_else(|| "id,name".into());
    let out: serde_json::Map<String, Value> = fields
        .split(',')
        .filter_map(|f| all.get(f).map(|v| (f.to_owned(), v.clone())))
        .collect();
    Json(Value::Object(out)).into_response()
}
