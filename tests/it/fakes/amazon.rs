//! A fake Login with Amazon: `/ap/oa` (302 back with code and state), `/auth/o2/token`
//! (client credentials in the body, PKCE checked) and `/user/profile` (Bearer), whose
//! fields follow the granted scopes (`postal_code` only with that scope).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use url::Url;

use super::{bearer, pkce_ok, random, redirect_back, serve};

#[derive(Clone, Debug)]
pub struct AmazonOpts {
    pub client_id: String,
    pub client_secret: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub postal_code: String,
    pub deny: bool,
}

impl Default for AmazonOpts {
    fn default() -> Self {
        Self {
            client_id: "amzn1.application-oa2-client.0123456789abcdef".into(),
            client_secret: "amzn-secret".into(),
            user_id: "amzn1.account.AF2EXAMPLEUSERID".into(),
            name: "Dorothy Vaughan".into(),
            email: "dorothy@example.com".into(),
            postal_code: "98109".into(),
            deny: false,
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
}

#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub authorize_queries: Vec<BTreeMap<String, String>>,
    pub profile_calls: usize,
}

struct Inner {
    opts: AmazonOpts,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, String>,
    seen: Seen,
}

#[derive(Clone)]
pub struct FakeHandle {
    pub base: Url,
    inner: Arc<Mutex<Inner>>,
}

impl FakeHandle {
    pub fn set(&self, f: impl FnOnce(&mut AmazonOpts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    /// Ready-to-use `details` of a `LoginWithAmazon` registration pointing at this fake.
    pub fn details(&self) -> Value {
        let o = self.inner.lock().unwrap().opts.clone();
        json!({"client_id": o.client_id, "client_secret": o.client_secret, "endpoints": self.endpoints()})
    }

    /// The `details.endpoints` pointing the Amazon adapter at this fake.
    pub fn endpoints(&self) -> Value {
        let b = self.base.as_str().trim_end_matches('/');
        json!({"authorize_url": format!("{b}/ap/oa"), "token_url": format!("{b}/auth/o2/token"), "userinfo_url": format!("{b}/user/profile")})
    }
}

type St = Arc<Mutex<Inner>>;

pub async fn start(opts: AmazonOpts) -> FakeHandle {
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        codes: HashMap::new(),
        tokens: HashMap::new(),
        seen: Seen::default(),
    }));
    let app = Router::new()
        .route("/ap/oa", get(authorize))
        .route("/auth/o2/token", post(token))
        .route("/user/profile", get(profile))
        .with_state(inner.clone());
    let (base, _task) = serve(app).await;
    FakeHandle { base, inner }
}

async fn authorize(State(s): State<St>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let mut inner = s.lock().unwrap();
    inner.seen.authorize_queries.push(q.clone());
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    };
    if q.get("client_id") != Some(&inner.opts.client_id)
        || q.get("response_type").map(String::as_str) != Some("code")
    {
        return (StatusCode::BAD_REQUEST, "invalid_client").into_response();
    }
    if inner.opts.deny {
        return redirect_back(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
                ("state", state),
            ],
        );
    }
    let scope = q.get("scope").cloned().unwrap_or_default();
    if scope
        .split(' ')
        .any(|s| !["profile", "profile:user_id", "postal_code"].contains(&s))
    {
        return redirect_back(
            redirect_uri,
            &[("error", "invalid_scope"), ("state", state)],
        );
    }
    let code = random();
    inner.codes.insert(
        code.clone(),
        Grant {
            redirect_uri: redirect_uri.clone(),
            challenge: q.get("code_challenge").cloned(),
            scope,
        },
    );
    redirect_back(
        redirect_uri,
        &[
            ("code", &code),
            ("scope", &q.get("scope").cloned().unwrap_or_default()),
            ("state", state),
        ],
    )
}

async fn token(State(s): State<St>, Form(form): Form<BTreeMap<String, String>>) -> Response {
    let mut inner = s.lock().unwrap();
    let err = |status: StatusCode, code: &str| {
        (
            status,
            Json(json!({"error": code, "error_description": "rejected"})),
        )
            .into_response()
    };
    if form.get("client_id") != Some(&inner.opts.client_id)
        || form.get("client_secret") != Some(&inner.opts.client_secret)
    {
        return err(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return err(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        || !pkce_ok(
            grant.challenge.as_deref(),
            form.get("code_verifier").map(String::as_str),
        )
    {
        return err(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let token = format!("Atza|{}", random());
    inner.tokens.insert(token.clone(), grant.scope);
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": 3600, "refresh_token": format!("Atzr|{}", random())})).into_response()
}

async fn profile(State(s): State<St>, headers: HeaderMap) -> Response {
    let mut inner = s.lock().unwrap();
    inner.seen.profile_calls += 1;
    let Some(scope) = bearer(&headers).and_then(|t| inner.tokens.get(&t).cloned()) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    let o = &inner.opts;
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut out = serde_json::Map::new();
    out.insert("user_id".into(), json!(o.user_id));
    if scopes.contains(&"profile") {
        out.insert("name".into(), json!(o.name));
        out.insert("email".into(), json!(o.email));
    }
    if scopes.contains(&"postal_code") {
        out.insert("postal_code".into(), json!(o.postal_code));
    }
    Json(Value::Object(out)).into_response()
}
