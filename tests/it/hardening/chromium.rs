//! The plain-HTTP form-post callback in a real browser: Sign in with Apple's page, on
//! another site (`localhost` against the gateway's `127.0.0.1`), posts the callback
//! cross-site; Chromium leaves the `SameSite=Lax` binding cookie off that POST, and the
//! sign-in completes through poolgate's re-post page (its script from the gateway's
//! origin, under a CSP that allows no inline script).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use serde_json::json;
use url::Url;

use crate::fakes::apple::{self, AppleOpts};
use crate::harness::{Gw, app_client_body, authorize_url, pkce};
use crate::webdriver::Browser;

type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

async fn app_server() -> (Url, Seen) {
    let seen: Seen = Arc::default();
    async fn cb(
        State(seen): State<Seen>,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> Html<&'static str> {
        seen.lock().unwrap().push(q);
        Html("<!doctype html><html lang=\"en\"><title>App</title><h1>Signed in</h1></html>")
    }
    let app = Router::new().route("/cb", get(cb)).with_state(seen.clone());
    let (base, _task) = crate::fakes::serve(app).await;
    (base, seen)
}

#[tokio::test]
async fn apple_form_post_on_plain_http_completes_in_chromium() {
    let gw = Gw::start().await;
    let (opts, pem) = AppleOpts::generate();
    let fake = apple::start(opts).await;
    let mut details = fake.details(&pem);
    // The browser meets Apple on another site than the gateway's.
    let port = fake.base.port().unwrap();
    details["endpoints"]["authorize_url"] =
        json!(format!("http://localhost:{port}/auth/authorize"));
    gw.put_provider(
        "SignInWithApple",
        json!({"type": "SignInWithApple", "details": details}),
    )
    .await;
    let (app, seen) = app_server().await;
    let redirect = app.join("/cb").unwrap().to_string();
    let client = gw
        .client(app_client_body(&redirect, &["SignInWithApple"], false))
        .await
        .0;
    let (_, challenge) = pkce();
    let start = authorize_url(
        &gw,
        &client,
        &redirect,
        &[
            ("state", "app-state-1"),
            ("identity_provider", "SignInWithApple"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let b = Browser::start().await;
    b.goto(&start).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    let q: BTreeMap<String, String> = Url::parse(&landed)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(q.contains_key("code"), "{landed}");
    assert_eq!(q["state"], "app-state-1");
    assert_eq!(seen.lock().unwrap().len(), 1);
    b.quit().await;
}
