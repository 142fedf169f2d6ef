//! Hooks (issue 16, interface.md section 8) end to end: a hook server started by each
//! test on 127.0.0.1 answers the gateway's signed calls the way a Lambda function
//! behind an HTTP wrapper would, and the tests look at the tokens, the redirects and
//! the store through the gateway's HTTP interfaces only.

mod admin;
mod exchange;
mod failures;
mod federated_sources;
mod post_confirmation;
mod tokens;
mod wrappers;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::e2e::{CB, Env, setup};
use crate::harness::{Browser, Landing, authorize_url, pkce};

/// What a hook answers.
pub enum Reply {
    /// 200 with this JSON.
    Json(Value),
    /// This status and raw body.
    Raw(u16, Vec<u8>),
    /// A redirect to this location.
    Redirect(String),
    /// Waits this long, then answers the event unchanged.
    Sleep(std::time::Duration),
}

type Handler = Arc<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// One call the hook server received.
#[derive(Clone, Debug)]
pub struct Call {
    pub path: String,
    pub signature: String,
    pub request_id: String,
    pub body: Vec<u8>,
    pub event: Value,
}

#[derive(Clone)]
pub struct HookServer {
    pub base: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl HookServer {
    /// Starts a server whose every POST is answered by `handler(event)`.
    pub async fn start<F, Fut>(handler: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |v| Box::pin(handler(v)));
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let seen = calls.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let handler = handler.clone();
                let seen = seen.clone();
                async move {
                    let header = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_owned()
                    };
                    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    seen.lock().unwrap().push(Call {
                        path: uri.path().to_owned(),
                        signature: header("x-poolgate-signature"),
                        request_id: header("x-poolgate-request-id"),
                        body: body.to_vec(),
                        event: event.clone(),
                    });
                    reply(handler(event.clone()).await, event).await
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            calls,
        }
    }

    /// A server whose function throws `message` (a Lambda error body, 400) for events
    /// of trigger source `source` and answers every other event unchanged.
    pub async fn refusing(source: &'static str, message: &'static str) -> Self {
        Self::start(move |event: Value| async move {
            if event["triggerSource"] == source {
                let body = json!({"errorType": "Error", "errorMessage": message});
                Reply::Raw(400, body.to_string().into_bytes())
            } else {
                echo(event).await
            }
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

async fn reply(r: Reply, event: Value) -> Response {
    match r {
        Reply::Json(v) => axum::Json(v).into_response(),
        Reply::Raw(status, body) => (StatusCode::from_u16(status).unwrap(), body).into_response(),
        Reply::Redirect(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Reply::Sleep(d) => {
            tokio::time::sleep(d).await;
            axum::Json(event).into_response()
        }
    }
}

/// A handler that answers every event unchanged (a function that does nothing).
pub async fn echo(event: Value) -> Reply {
    Reply::Json(event)
}

/// Sets the default pool's hooks; returns the hook secret shown in that answer.
pub async fn set_hooks(env: &Env, hooks: Value) -> Option<String> {
    let (s, v) = env
        .gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": hooks}})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    v["settings"]["hook_secret"].as_str().map(str::to_owned)
}

/// A gateway with provider `Corp` and `hooks`; the hook secret.
pub async fn hooked(hooks: Value) -> (Env, String) {
    let env = setup("never", false).await;
    let secret = set_hooks(&env, hooks)
        .await
        .expect("the first hooks show a secret");
    (env, secret)
}

/// Signs in through `provider` in a new browser; where it landed and the verifier.
pub async fn sign_in(env: &Env, provider: &str) -> (Landing, String) {
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &env.gw,
        &env.client,
        CB,
        &[
            ("scope", "openid email profile"),
            ("state", "app-state-1"),
            ("nonce", "n-1"),
            ("identity_provider", provider),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    (Browser::new().follow(&url, CB).await, verifier)
}

/// The app's query when the sign-in came back with an error.
pub fn app_error(l: &Landing) -> (String, String) {
    match l {
        Landing::App(q) => {
            assert!(q.get("code").is_none(), "no code may be issued: {q:?}");
            assert_eq!(q.get("state").map(String::as_str), Some("app-state-1"));
            (
                q.get("error").cloned().unwrap_or_default(),
                q.get("error_description").cloned().unwrap_or_default(),
            )
        }
        Landing::Page(s, b) => panic!("stopped on a page: {s} {b}"),
    }
}

/// The users of the default pool.
pub async fn users(env: &Env) -> Vec<Value> {
    let (s, v) = env.gw.admin("GET", "/pools/default/users", None).await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The gateway's metrics text.
pub async fn metrics(env: &Env) -> String {
    env.gw
        .http
        .get(env.gw.url("/metrics"))
        .bearer_auth(crate::harness::ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
