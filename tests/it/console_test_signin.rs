//! The console's "Test sign-in" over real HTTP: a sign-in through a fake OIDC provider
//! with the built-in test client, its result page (identity, mapped attributes, decoded
//! claims), the test user's removal; a refused upstream named as the failing step; an
//! answer without the test's cookie refused as a state mismatch; a real user never
//! removable as a test user.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};
use serde_json::json;

use crate::console::{Console, between, cookie_pair, hidden, moves_on_to, seed_user, set_cookies};
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{Browser, Gw, Landing};

/// Starts a test of `provider`: the authorize URL it sends the browser to and the
/// test's binding cookie (`name=value`).
async fn start(c: &Console<'_>, provider: &str) -> (String, String) {
    let r = c
        .post(
            &format!("/console/pools/default/providers/{provider}/test"),
            &[],
        )
        .await;
    // A page that moves on by itself (a redirect would be held to the console's
    // `form-action 'self'` on its way to the provider).
    assert_eq!(r.status(), StatusCode::OK);
    let cookies = set_cookies(&r);
    let loc = moves_on_to(&r.text().await.unwrap());
    let test = cookies
        .iter()
        .find(|c| c.starts_with("poolgate-console-test-"))
        .unwrap_or_else(|| panic!("no test cookie: {cookies:?}"))
        .clone();
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(test.contains(attr), "{test}");
    }
    (loc, test.split(';').next().unwrap().to_owned())
}

/// Runs the browser from the authorize URL to the console's callback; the callback URL.
async fn run_upstream(gw: &Gw, authorize: &str) -> String {
    let browser = Browser::new();
    let callback = gw.url("/console/pools/default/test/callback");
    match browser.follow(authorize, &callback).await {
        Landing::App(q) => {
            let mut u = url::Url::parse(&callback).unwrap();
            u.query_pairs_mut().extend_pairs(q.iter());
            u.to_string()
        }
        Landing::Page(s, b) => panic!("stopped on a page: {s} {b}"),
    }
}

async fn callback(gw: &Gw, url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = gw.http.get(url);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn console_test_sign_in_shows_claims_and_failures() {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    gw.put_provider("Corp", json!({"type": "OIDC", "details": fake.details()}))
        .await;
    seed_user(&gw, "ada").await;
    let c = Console::sign_in(&gw).await;
    let (s, page) = c.get("/console/pools/default/providers/Corp").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("/providers/Corp/test\" target=\"_blank\""),
        "{page}"
    );

    // Starting needs the console session and its CSRF token.
    let r = c
        .post_raw(
            "/console/pools/default/providers/Corp/test",
            &[("csrf", "forged")],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(cookie_pair(&set_cookies(&r), "poolgate-console-test").is_none());

    // A successful test: the identity, the mapped attributes and the tokens' claims.
    let (authorize, cookie) = start(&c, "Corp").await;
    assert!(
        authorize.starts_with(&gw.url("/oauth2/authorize?")),
        "{authorize}"
    );
    assert!(authorize.contains("client_id=poolgate-test-sign-in"));
    assert!(authorize.contains("code_challenge_method=S256"));
    let back = run_upstream(&gw, &authorize).await;
    let (s, body) = callback(&gw, &back, Some(&cookie)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"test-ok\""), "{body}");
    assert_eq!(
        between(&body, "<code id=\"identity-subject\">", "<"),
        "user-1"
    );
    assert_eq!(
        between(&body, "<dd id=\"identity-email\">", "<"),
        "ada@example.com"
    );
    assert_eq!(
        between(&body, "<dd id=\"identity-email-verified\">", "<"),
        "yes"
    );
    let id_claims = between(&body, "<table id=\"id-claims\">", "</table>");
    assert!(
        id_claims.contains("<code>token_use</code></td><td class=\"value\">id<"),
        "{id_claims}"
    );
    assert!(id_claims.contains("ada@example.com"), "{id_claims}");
    assert!(!id_claims.contains("poolgate:test_user"), "{id_claims}");
    let access = between(&body, "<table id=\"access-claims\">", "</table>");
    assert!(access.contains(">access<"), "{access}");
    assert!(!body.contains("eyJ"), "a raw token is on the page");
    let username = between(&body, "<strong id=\"test-username\">", "<").to_owned();
    let token = hidden(&body, "token").unwrap();

    // The test client is the pool's built-in one; the user is marked a test user.
    let (s, v) = gw
        .admin("GET", "/pools/default/clients/poolgate-test-sign-in", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["has_secret"], false);
    let (s, v) = gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["attributes"]["poolgate:test_user"], "true");
    let (_, users) = c.get("/console/pools/default/users").await;
    assert!(users.contains("test user"), "{users}");

    // The answer is shown once: a replay is refused as not this test's.
    let (s, again) = callback(&gw, &back, Some(&cookie)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        again.contains("Binding the answer to this test (state)"),
        "{again}"
    );

    // Removal needs the session and the result page's token.
    let r = gw
        .http
        .post(gw.url("/console/pools/default/test/remove"))
        .header(ORIGIN, &gw.base)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/signin");
    let r = c
        .post_raw(
            "/console/pools/default/test/remove",
            &[("token", "x".repeat(43).as_str())],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = c
        .post_raw(
            "/console/pools/default/test/remove",
            &[("token", token.as_str())],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, _) = gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "removed by a refused form");
    let r = c
        .post_raw(
            "/console/pools/default/test/remove",
            &[("token", token.as_str())],
            Some(&gw.base),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/console/pools/default/users?ok=test-user-removed"
    );
    let (s, _) = gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A real user is never removed as a test user.
    let r = c
        .post("/console/pools/default/users/ada/remove-test", &[])
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let (s, _) = gw.admin("GET", "/pools/default/users/ada", None).await;
    assert_eq!(s, StatusCode::OK);

    // The provider refuses: the page names the upstream step and what it said.
    fake.set(|o| o.deny = true);
    let (authorize, cookie) = start(&c, "Corp").await;
    let back = run_upstream(&gw, &authorize).await;
    // Without the test's cookie (another browser): a state mismatch, nothing shown.
    let (s, body) = callback(&gw, &back, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("did not begin this test"), "{body}");
    let (authorize, cookie2) = start(&c, "Corp").await;
    assert_ne!(cookie, cookie2);
    let back = run_upstream(&gw, &authorize).await;
    let (s, body) = callback(&gw, &back, Some(&cookie2)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        between(&body, "<span id=\"failed-step\">", "<"),
        "The identity provider&#x27;s answer"
    );
    assert!(
        between(&body, "<p id=\"failed-detail\">", "<").contains("access_denied"),
        "{body}"
    );
    assert!(!body.contains("id=\"test-ok\""));
    let (_, v) = gw.admin("GET", "/pools/default/users", None).await;
    assert_eq!(
        v["items"].as_array().map(Vec::len),
        Some(1),
        "only ada is left: {v}"
    );
}
