//! The hosted sign-in page in headless Chromium (Debian's, through chromedriver): from
//! `/oauth2/authorize` without a provider to the page, its buttons, keyboard focus, an
//! axe-core accessibility check, a screenshot, and a click through a fake OIDC provider
//! to the app's callback with a code.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{Gw, app_client_body, authorize_url, claims, json_str, pkce, ptype};
use crate::login_page::seed_providers;
use crate::webdriver::Browser;

pub(crate) type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// The app: a callback page that records what it was given.
pub(crate) async fn app_server() -> (Url, Seen) {
    let seen: Seen = Arc::default();
    async fn cb(
        State(seen): State<Seen>,
        Query(q): Query<BTreeMap<String, String>>,
    ) -> Html<&'static str> {
        seen.lock().unwrap().push(q);
        Html(
            "<!doctype html><html lang=\"en\"><title>App</title><main><h1>Signed in</h1></main></html>",
        )
    }
    let app = Router::new().route("/cb", get(cb)).with_state(seen.clone());
    let (base, _task) = crate::fakes::serve(app).await;
    (base, seen)
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Injects axe-core and runs it on the page; the violations as `{id, impact, help,
/// nodes}`. Asserts that axe really checked something.
pub(crate) async fn axe(b: &Browser) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/browser/node_modules/axe-core/axe.min.js"
    );
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("{path}: {e}; run scripts/test-deps-browser.sh (the README's `make test` does)")
    });
    // WebDriver scripts bypass the page's CSP, as they should: the page itself runs none.
    b.execute(&format!("{src}\n;window.axe = axe;"), json!([]))
        .await;
    let v = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document)
               .then(r => done({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))}))
               .catch(e => done({passes: 0, violations: [{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0}]}));",
            json!([]),
        )
        .await;
    assert!(
        v["passes"].as_u64().unwrap_or(0) > 10,
        "axe checked nothing: {v}"
    );
    v["violations"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn serious(violations: &[Value]) -> Vec<&Value> {
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect()
}

#[tokio::test]
async fn sign_in_through_the_hosted_page_in_chromium() {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    let o = fake.opts();
    gw.put_provider(
        "Corp",
        json!({"type": "OIDC", "details": {"client_id": o.client_id, "client_secret": o.client_secret, "issuer": fake.issuer()}}),
    )
    .await;
    // Listed on the page but not clicked: their registrations need no upstream here.
    seed_providers(
        &gw,
        &[
            ("Google", ptype("Google"), &[]),
            ("SignInWithApple", ptype("SignInWithApple"), &[]),
            ("AcmeAD", ptype("SAML"), &["acme.example"]),
        ],
    )
    .await;
    let (app, seen) = app_server().await;
    let redirect = app.join("/cb").unwrap().to_string();
    let client = gw
        .client(app_client_body(
            &redirect,
            &["Google", "SignInWithApple", "Corp", "AcmeAD"],
            false,
        ))
        .await
        .0;
    let (verifier, challenge) = pkce();
    let start = authorize_url(
        &gw,
        &client,
        &redirect,
        &[
            ("state", "app-state-1"),
            ("nonce", "nonce-1"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );

    let b = Browser::start().await;
    b.goto(&start).await;
    let at = Url::parse(&b.url().await).unwrap();
    assert_eq!(at.path(), "/login", "{at}");
    assert_eq!(b.title().await, "Sign in · test app");
    let buttons = b.find_all("button.provider").await;
    let mut labels = Vec::new();
    for e in &buttons {
        labels.push(b.text(e).await);
    }
    assert_eq!(
        labels,
        [
            "Continue with Google",
            "Sign in with Apple",
            "Continue with Corp",
            "Continue with AcmeAD"
        ]
    );
    assert_eq!(
        b.find_all("input#idp_identifier[type=email]").await.len(),
        1
    );
    assert_eq!(b.find_all("script").await.len(), 0);

    // Keyboard: the first Tab reaches the first button, and its focus is visible.
    b.press("\u{E004}").await;
    let focused = b
        .execute(
            "const e = document.activeElement, s = getComputedStyle(e);
             return {text: e.textContent, outline: s.outlineStyle, width: s.outlineWidth};",
            json!([]),
        )
        .await;
    assert_eq!(focused["text"], "Continue with Google", "{focused}");
    assert_eq!(focused["outline"], "solid", "{focused}");
    assert_eq!(focused["width"], "3px", "{focused}");

    let png = b.screenshot().await;
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    std::fs::write(artifacts().join("login.png"), &png).unwrap();
    let violations = axe(&b).await;
    assert!(
        serious(&violations).is_empty(),
        "accessibility violations: {violations:#?}"
    );

    // Responsive: on a phone-sized window nothing scrolls sideways and the page passes too.
    b.set_window(390, 844).await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    assert_eq!(overflow, json!(0));
    std::fs::write(artifacts().join("login-narrow.png"), b.screenshot().await).unwrap();
    let violations = axe(&b).await;
    assert!(
        serious(&violations).is_empty(),
        "accessibility violations (narrow): {violations:#?}"
    );
    b.set_window(1280, 900).await;

    // The check can fail: an image without a text alternative is caught.
    b.execute("const i = document.createElement('img'); i.src = 'data:,'; document.querySelector('main').append(i);", json!([]))
        .await;
    let violations = axe(&b).await;
    assert!(
        serious(&violations).iter().any(|v| v["id"] == "image-alt"),
        "{violations:#?}"
    );
    b.goto(&start).await;

    // Click through the fake provider and land on the app's callback with a code.
    let buttons = b.find_all("button.provider").await;
    b.click(&buttons[2]).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    let q: BTreeMap<String, String> = Url::parse(&landed)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["state"], "app-state-1", "{landed}");
    assert_eq!(q["iss"], gw.base);
    let code = q["code"].clone();
    assert_eq!(
        seen.lock().unwrap().last().map(|q| q["code"].clone()),
        Some(code.clone())
    );
    assert_eq!(
        fake.seen()
            .authorize_queries
            .last()
            .map(|q| q["redirect_uri"].clone()),
        Some(gw.url("/oauth2/idpresponse"))
    );

    let (s, tok) = gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &redirect),
                ("client_id", &client),
                ("code_verifier", &verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    let id = claims(&json_str(&tok, "id_token"));
    assert_eq!(id["nonce"], "nonce-1");
    assert_eq!(id["aud"], json!(client));
    assert_eq!(id["iss"], json!(gw.base));
    assert_eq!(id["email"], "ada@example.com");

    // The error page: same templates, accessible too, with the request id.
    b.goto(&gw.url("/login?client_id=nobody&redirect_uri=x"))
        .await;
    assert_eq!(b.title().await, "Sign-in error");
    let ids = b.find_all(".request-id code").await;
    assert_eq!(b.text(&ids[0]).await.len(), 32);
    std::fs::write(artifacts().join("error.png"), b.screenshot().await).unwrap();
    let violations = axe(&b).await;
    assert!(
        serious(&violations).is_empty(),
        "accessibility violations (error page): {violations:#?}"
    );
    b.quit().await;
}
