//! A fake GitHub: `/login/oauth/authorize` (302 back with code and state),
//! `/login/oauth/access_token` (client id and secret in the body or Basic, PKCE checked;
//! a JSON answer when `Accept` asks for it, form-encoded otherwise, and errors with
//! status 200 as GitHub sends them), and the REST API `/user` and `/user/emails`, which
//! answer 403 without a `User-Agent` and `/user/emails` 404 without `user:email`.

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
pub struct GitHubOpts {
    pub client_id: String,
    pub client_secret: String,
    /// The `/user` object (with its public `email`).
    pub user: Value,
    /// The `/user/emails` list.
    pub emails: Value,
    pub deny: bool,
}

impl Default for GitHubOpts {
    fn default() -> Self {
        Self {
            client_id: "Iv1.0123456789abcdef".into(),
            client_secret: "gh-secret-0123456789".into(),
            user: json!({
                "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
                "html_url": "https://github.com/octocat", "type": "User",
                "name": "The Octocat", "company": "@github",
                "email": "public-octocat@example.com",
            }),
            emails: json!([
                {"email": "old@example.com", "primary": false, "verified": true, "visibility": null},
                {"email": "octocat@example.com", "primary": true, "verified": true, "visibility": "public"},
                {"email": "unverified@example.com", "primary": false, "verified": false, "visibility": null},
            ]),
            deny: false,
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
}

/// What the fake saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub authorize_queries: Vec<BTreeMap<String, String>>,
    /// `Accept` of each token request.
    pub token_accept: Vec<String>,
    /// (path, User-Agent, Accept) of each API call.
    pub api_calls: Vec<(String, String, String)>,
}

struct Inner {
    opts: GitHubOpts,
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
    pub fn set(&self, f: impl FnOnce(&mut GitHubOpts)) {
        f(&mut self.inner.lock().unwrap().opts);
    }
    pub fn seen(&self) -> Seen {
        self.inner.lock().unwrap().seen.clone()
    }
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }
    /// `details` of a `GitHub` registration pointing at this fake by `endpoints`.
    pub fn details(&self) -> Value {
        let o = self.inner.lock().unwrap().opts.clone();
        json!({"client_id": o.client_id, "client_secret": o.client_secret, "endpoints": {
            "authorize_url": self.url("/login/oauth/authorize"),
            "token_url": self.url("/login/oauth/access_token"),
            "userinfo_url": self.url("/user"),
            "emails_url": self.url("/user/emails"),
        }})
    }
}

type St = Arc<Mutex<Inner>>;

/// Starts the fake; the API also answers under `/api/v3` (GitHub Enterprise Server).
pub async fn start(opts: GitHubOpts) -> FakeHandle {
    let inner = Arc::new(Mutex::new(Inner {
        opts,
        codes: HashMap::new(),
        tokens: HashMap::new(),
        seen: Seen::default(),
    }));
    let app = Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(token))
        .route("/user", get(user))
        .route("/user/emails", get(emails))
        .route("/api/v3/user", get(user))
        .route("/api/v3/user/emails", get(emails))
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
    if q.get("client_id") != Some(&inner.opts.client_id) {
        return (StatusCode::NOT_FOUND, "unknown client").into_response();
    }
    if inner.opts.deny {
        return redirect_back(
            redirect_uri,
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "The user has denied your application access.",
                ),
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
            scope: q.get("scope").cloned().unwrap_or_default(),
        },
    );
    redirect_back(redirect_uri, &[("code", &code), ("state", state)])
}

/// GitHub's token endpoint answers JSON only when asked; errors come with status 200.
fn answer(json_wanted: bool, pairs: &[(&str, &str)]) -> Response {
    if json_wanted {
        let m: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        Json(Value::Object(m)).into_response()
    } else {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        (
            [(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

async fn token(
    State(s): State<St>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let mut inner = s.lock().unwrap();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    inner.seen.token_accept.push(accept.clone());
    let json_wanted = accept.contains("application/json");
    let creds = client_credentials(&headers, &form);
    if creds.map(|(i, s, _)| (i, s))
        != Some((
            inner.opts.client_id.clone(),
            inner.opts.client_secret.clone(),
        ))
    {
        return answer(json_wanted, &[("error", "incorrect_client_credentials")]);
    }
    let Some(grant) = form.get("code").and_then(|c| inner.codes.remove(c)) else {
        return answer(json_wanted, &[("error", "bad_verification_code")]);
    };
    if form
        .get("redirect_uri")
        .is_some_and(|r| *r != grant.redirect_uri)
    {
        return answer(json_wanted, &[("error", "redirect_uri_mismatch")]);
    }
    if !pkce_ok(
        grant.challenge.as_deref(),
        form.get("code_verifier").map(String::as_str),
    ) {
        return answer(json_wanted, &[("error", "bad_verification_code")]);
    }
    let token = format!("gho_{}", random());
    // GitHub lists granted scopes comma-separated.
    let scope = grant.scope.replace(' ', ",");
    inner.tokens.insert(token.clone(), scope.clone());
    answer(
        json_wanted,
        &[
            ("access_token", &token),
            ("token_type", "bearer"),
            ("scope", &scope),
        ],
    )
}

/// GitHub's API refusal for a request without `User-Agent`.
fn no_user_agent() -> Response {
    (
        StatusCode::FORBIDDEN,
        "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.",
    )
        .into_response()
}

/// The granted scopes of the bearer token, after the `User-Agent` check.
fn authorize_api(
    inner: &mut Inner,
    headers: &HeaderMap,
    path: &str,
) -> Result<String, Box<Response>> {
    let h = |n: header::HeaderName| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let ua = h(header::USER_AGENT);
    inner
        .seen
        .api_calls
        .push((path.to_owned(), ua.clone(), h(header::ACCEPT)));
    if ua.is_empty() {
        return Err(Box::new(no_user_agent()));
    }
    bearer(headers)
        .and_then(|t| inner.tokens.get(&t).cloned())
        .ok_or_else(|| {
            Box::new(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"message": "Bad credentials"})),
                )
                    .into_response(),
            )
        })
}

async fn user(State(s): State<St>, headers: HeaderMap) -> Response {
    let mut inner = s.lock().unwrap();
    match authorize_api(&mut inner, &headers, "/user") {
        Ok(_) => Json(inner.opts.user.clone()).into_response(),
        Err(r) => *r,
    }
}

async fn emails(State(s): State<St>, headers: HeaderMap) -> Response {
    let mut inner = s.lock().unwrap();
    match authorize_api(&mut inner, &headers, "/user/emails") {
        Ok(scope) if scope.split(',').any(|s| s == "user:email" || s == "user") => {
            Json(inner.opts.emails.clone()).into_response()
        }
        Ok(_) => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response(),
        Err(r) => *r,
    }
}
