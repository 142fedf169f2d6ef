//! `response_mode=form_post` on plain-HTTP development: the provider's page posts the
//! callback cross-site, without the `SameSite=Lax` binding cookie. poolgate answers with
//! a page of its own origin that posts the fields again, with the cookie.

use reqwest::StatusCode;

use super::{form_fields, no_redirect_client};
use crate::e2e::{CB, exchange, setup};
use crate::harness::{Browser, Landing, authorize_url, pkce};

#[tokio::test]
async fn a_cross_site_form_post_callback_completes_in_the_browser_that_began_it() {
    let env = setup("never", false).await;
    let browser = Browser::new();
    let (verifier, challenge) = pkce();
    let url = authorize_url(
        &env.gw,
        &env.client,
        CB,
        &[
            ("scope", "openid email"),
            ("state", "app-state-1"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    // Stop where the provider sends the browser back; post those fields instead.
    let callback = env.gw.url("/oauth2/idpresponse");
    let Landing::App(params) = browser.follow(&url, &callback).await else {
        panic!("the provider did not send the browser back");
    };
    assert!(params.contains_key("code") && params.contains_key("state"));
    let fields: Vec<(String, String)> = params.into_iter().collect();
    // Cross-site, so the browser leaves the Lax cookie out.
    let r = no_redirect_client()
        .post(&callback)
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://idp.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    let (action, again) = form_fields(&body);
    assert_eq!(action, "/oauth2/idpresponse");
    let mut sorted = again.clone();
    sorted.sort();
    let mut want = fields.clone();
    want.sort();
    assert_eq!(sorted, want, "the same fields, posted again");
    let r = browser
        .http
        .post(env.gw.url(&action))
        .header("sec-fetch-site", "same-origin")
        .form(&again)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(CB), "{loc}");
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    assert_eq!(exchange(&env, &code, &verifier).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_same_origin_post_without_the_cookie_is_refused_not_posted_again() {
    let env = setup("never", false).await;
    let (_, challenge) = pkce();
    let url = authorize_url(
        &env.gw,
        &env.client,
        CB,
        &[
            ("state", "s"),
            ("identity_provider", "Corp"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let callback = env.gw.url("/oauth2/idpresponse");
    let Landing::App(params) = Browser::new().follow(&url, &callback).await else {
        panic!("the provider did not send the browser back");
    };
    let fields: Vec<(String, String)> = params.into_iter().collect();
    let r = no_redirect_client()
        .post(&callback)
        .header("sec-fetch-site", "same-origin")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("another browser"));
}
