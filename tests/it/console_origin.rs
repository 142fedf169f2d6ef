//! The console's same-origin check compares RFC 6454 origins (scheme, host and port),
//! never the pool's issuer: on a gateway whose default pool has `issuer_style:
//! cognito` (an issuer with a path, `{POOLGATE_PUBLIC_URL}/default`), the console's own
//! forms are accepted, the sign-in through the pool works, and cross-origin forms are
//! still refused with nothing changed.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN};
use serde_json::json;

use crate::console::{Console, cookie_pair, hidden, set_cookies};
use crate::console_pool_signin::{GROUP, first_sign_in, gateway, member_session, start};
use crate::harness::Gw;

/// Gives the default pool an issuer with a path; checks that it has one.
async fn cognito_style(gw: &Gw) {
    let (s, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"issuer_style": "cognito"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let discovery = gw.url("/default/.well-known/openid-configuration");
    let r = gw.http.get(discovery).send().await.unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["issuer"], gw.url("/default"), "{doc}");
}

#[tokio::test]
async fn console_forms_are_accepted_on_a_cognito_style_pool_and_foreign_ones_refused() {
    let gw = Gw::start().await;
    cognito_style(&gw).await;

    // The sign-in form and a console form, each from the console's own origin.
    let c = Console::sign_in(&gw).await;
    let r = c
        .post("/console/pools", &[("id", "made-here"), ("domains", "")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = gw.admin("GET", "/pools/made-here", None).await;
    assert_eq!(s, StatusCode::OK);

    // Another scheme, host or port, the issuer itself (a browser never sends a path),
    // `null`: refused, nothing created.
    let port = gw.port;
    for origin in [
        "https://evil.example".to_owned(),
        format!("https://127.0.0.1:{port}"),
        format!("http://127.0.0.2:{port}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        "null".to_owned(),
    ] {
        let r = c
            .post_raw(
                "/console/pools",
                &[("csrf", c.csrf.as_str()), ("id", "forged"), ("domains", "")],
                Some(&origin),
            )
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
    }
    let (s, _) = gw.admin("GET", "/pools/forged", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The sign-in form from another origin opens no session.
    let r = gw.http.get(gw.url("/console/signin")).send().await.unwrap();
    let pre = cookie_pair(&set_cookies(&r), "poolgate-console-pre").unwrap();
    let csrf = hidden(&r.text().await.unwrap(), "csrf").unwrap();
    let r = gw
        .http
        .post(gw.url("/console/signin"))
        .header(COOKIE, &pre)
        .header(ORIGIN, "https://evil.example")
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", crate::harness::ADMIN_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(cookie_pair(&set_cookies(&r), "poolgate-console").is_none());
}

#[tokio::test]
async fn the_console_signs_in_through_a_cognito_style_pool() {
    let (gw, _fake) = gateway().await;
    cognito_style(&gw).await;

    // Begun from the console's own origin, on the pool's domain, back to the console.
    let (_, authorize, _) = start(&gw).await;
    assert!(
        authorize.starts_with(&gw.url("/oauth2/authorize?")),
        "{authorize}"
    );
    let q: std::collections::BTreeMap<String, String> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(q["redirect_uri"], gw.url("/console/callback"));

    // The first sign-in makes the user, not a member: refused (its ID token, issued
    // under the pool's issuer with a path, was verified to learn who it is).
    let (_, sub) = first_sign_in(&gw).await;

    // A member: a session, and its forms work.
    let store = &gw.running.as_ref().unwrap().store;
    store.add_to_group("default", GROUP, &sub).await.unwrap();
    let cookie = member_session(&gw).await;
    let r = gw
        .http
        .get(gw.url("/console/pools"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = Console {
        gw: &gw,
        cookie,
        csrf: hidden(&r.text().await.unwrap(), "csrf").unwrap(),
    };
    let r = c
        .post("/console/pools", &[("id", "by-member"), ("domains", "")])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
