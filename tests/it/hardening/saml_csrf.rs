//! SAML login CSRF: an attacker begins a SAML sign-in, keeps the IdP's signed response
//! and its RelayState, and makes a victim's browser post them to the ACS. Without a
//! binding to the browser that began the sign-in, the victim would be signed in to the
//! app as the attacker.

use reqwest::StatusCode;
use serde_json::json;

use super::{form_fields, no_redirect_client};
use crate::saml_e2e::{APP, code_of, env};
use crate::saml_fixtures::{b64, response};

#[tokio::test]
async fn a_response_posted_from_another_browser_is_refused() {
    let e = env(json!({})).await;
    // The attacker's browser (e.gw.http) begins the sign-in.
    let sent = e.begin().await;
    let xml = response(&e.spec(&sent), &e.idp);
    // The victim's browser, which never began a sign-in, posts the attacker's form
    // (as a page on the attacker's site would make it do).
    let victim = no_redirect_client();
    let r = victim
        .post(e.acs())
        .header("origin", "https://attacker.example")
        .form(&[
            ("SAMLResponse", b64(&xml)),
            ("RelayState", sent.relay_state.clone()),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let loc = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = r.text().await.unwrap();
    // Plain-HTTP development: a cookie-less cross-site POST is answered with the page
    // that posts it again from poolgate's origin; the victim's browser still has no
    // cookie, so the second POST is refused.
    assert_eq!(status, StatusCode::OK, "{loc:?} {body}");
    let (action, fields) = form_fields(&body);
    assert_eq!(action, "/saml2/idpresponse");
    let r = victim
        .post(e.acs())
        .header("origin", e.gw.base.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("another browser"));
    // The sign-in is spent: the attacker cannot use it either.
    let (status, loc) = e.post(&b64(&xml), &sent.relay_state).await;
    assert!(code_of(&loc).is_none(), "{status} {loc:?}");
}

#[tokio::test]
async fn the_browser_that_began_the_sign_in_completes_it_and_loses_the_cookie() {
    let e = env(json!({})).await;
    let sent = e.begin().await;
    let xml = response(&e.spec(&sent), &e.idp);
    let r =
        e.gw.http
            .post(e.acs())
            .form(&[
                ("SAMLResponse", b64(&xml)),
                ("RelayState", sent.relay_state.clone()),
            ])
            .send()
            .await
            .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let cleared: Vec<_> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("pg_flow_"))
        .collect();
    assert_eq!(cleared.len(), 1, "{cleared:?}");
    assert!(cleared[0].contains("Max-Age=0"), "{cleared:?}");
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(APP), "{loc}");
}

#[tokio::test]
async fn a_cookieless_cross_site_post_is_posted_again_with_the_cookie() {
    let e = env(json!({})).await;
    let sent = e.begin().await;
    let xml = response(&e.spec(&sent), &e.idp);
    // The IdP's page posts cross-site: a SameSite=Lax cookie does not come along.
    let r = no_redirect_client()
        .post(e.acs())
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("SAMLResponse", b64(&xml)),
            ("RelayState", sent.relay_state.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("src=\"/login/assets/autopost.js\""), "{body}");
    assert!(!body.contains("<script>"), "no inline script: {body}");
    let (action, fields) = form_fields(&body);
    // The page's own POST (same-origin) carries the browser's cookie.
    let r =
        e.gw.http
            .post(e.gw.url(&action))
            .header("sec-fetch-site", "same-origin")
            .form(&fields)
            .send()
            .await
            .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let loc = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(code_of(&Some(loc)).is_some());
    // The script the page loads is served, as script.
    let js =
        e.gw.http
            .get(e.gw.url("/login/assets/autopost.js"))
            .send()
            .await
            .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}
