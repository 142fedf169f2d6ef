//! A pre-token-generation hook in a few lines of axum: it verifies poolgate's
//! `X-Poolgate-Signature`, then answers the Cognito V2 event with a `tenant` claim in
//! both tokens (taken from the user's email domain).
//!
//! `HOOK_SECRET=<settings.hook_secret> cargo run --example hook_server`, then set
//! `{"settings": {"hooks": {"PreTokenGenerationConfig": {"LambdaVersion": "V2_0",
//! "LambdaArn": "http://127.0.0.1:3001/"}}}}` on the pool.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use poolgate::hooks::transport::{SIGNATURE_HEADER, verify};
use serde_json::{Value, json};

/// The hook's routes, verifying signatures with `secret`.
pub fn app(secret: String) -> Router {
    Router::new()
        .route("/", post(hook))
        .with_state(Arc::new(secret))
}

async fn hook(State(secret): State<Arc<String>>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Five minutes of clock skew, and a replayed call is refused after that.
    if !verify(&secret, signature, &body, now, 300) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(mut event) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let email = event["request"]["userAttributes"]["email"]
        .as_str()
        .unwrap_or("");
    let tenant = email.rsplit_once('@').map_or("none", |(_, d)| d).to_owned();
    event["response"]["claimsAndScopeOverrideDetails"] = json!({
        "idTokenGeneration": {"claimsToAddOrOverride": {"tenant": tenant}},
        "accessTokenGeneration": {"claimsToAddOrOverride": {"tenant": tenant}},
    });
    Json(event).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    let secret = std::env::var("HOOK_SECRET").unwrap_or_default();
    axum::serve(listener, app(secret)).await
}
