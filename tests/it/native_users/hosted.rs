//! The hosted page's username-and-password form over real HTTP (reqwest with a cookie
//! jar): authorize -> /login -> the form -> a code -> tokens; a wrong password shows the
//! form again with no code; a form without this browser's token is refused; the
//! new-password and TOTP steps.

use std::collections::BTreeMap;

use poolgate::native::totp;
use reqwest::StatusCode;
use serde_json::json;
use url::Url;

use super::*;
use crate::cognito_api::ok;
use crate::harness::{Browser, Gw, authorize_url, json_str, pkce};

const APP: &str = "http://127.0.0.1:9/cb";

/// A sign-in begun in `b`: the PKCE verifier, the page and its CSRF token.
pub struct Begun {
    pub verifier: String,
    pub page: String,
    pub token: String,
}

/// The value of the hidden `csrf_token` field of a page.
pub fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("no token: {page}"))
        + marker.len();
    page[at..].split('"').next().unwrap().to_owned()
}

/// `/oauth2/authorize` without a provider, followed to `/login`.
pub async fn begin(gw: &Gw, b: &Browser, client_id: &str) -> Begun {
    let (verifier, challenge) = pkce();
    let start = authorize_url(
        gw,
        client_id,
        APP,
        &[
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("scope", "openid email profile"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let r = b.http.get(&start).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let login = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(login.starts_with(&gw.url("/login?")), "{login}");
    let r = b.http.get(&login).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"));
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script"), "no script on the page");
    assert!(page.contains("name=\"username\"") && page.contains("name=\"password\""));
    Begun {
        verifier,
        token: csrf_of(&page),
        page,
    }
}

/// Posts the form `fields` to `/login`.
pub async fn post(gw: &Gw, b: &Browser, fields: &[(&str, &str)]) -> reqwest::Response {
    b.http
        .post(gw.url("/login"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// The app's callback query of a redirect.
fn landing(r: &reqwest::Response) -> BTreeMap<String, String> {
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.starts_with(APP), "{loc}");
    Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Exchanges a code; the ID token's claims.
async fn id_claims(gw: &Gw, client_id: &str, code: &str, verifier: &str) -> serde_json::Value {
    let (s, tok) = gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", APP),
                ("client_id", client_id),
                ("code_verifier", verifier),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    verified_claims(gw, &json_str(&tok, "id_token")).await
}

async fn sub_of(gw: &Gw, username: &str) -> String {
    let u = ok(
        gw,
        "AdminGetUser",
        json!({"UserPoolId": "default", "Username": username}),
    )
    .await;
    u["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "sub")
        .unwrap()["Value"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_password_sign_in_issues_a_code_and_refuses_forged_forms() {
    let (gw, client_id) = setup().await;
    confirmed_user(&gw, "olga").await;
    let b = Browser::new();
    let s = begin(&gw, &b, &client_id).await;
    assert!(s.page.contains("autocomplete=\"current-password\""));

    // Wrong password, then an unknown user: the form again, the same words, no code.
    for (user, pw) in [("olga", "Wrong-Password-1"), ("nobody", "Wrong-Password-1")] {
        let r = post(
            &gw,
            &b,
            &[
                ("csrf_token", &s.token),
                ("username", user),
                ("password", pw),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get("location").is_none());
        let page = r.text().await.unwrap();
        assert!(page.contains("role=\"alert\""), "{page}");
        assert!(page.contains("Incorrect username or password."), "{page}");
        assert!(page.contains("aria-describedby=\"form-error\""));
        assert!(page.contains("aria-invalid=\"true\""));
        assert!(
            page.contains(" autofocus"),
            "the field with the error takes the focus"
        );
        assert!(
            page.contains(&format!("value=\"{user}\"")),
            "the username is kept"
        );
    }

    // No token, and another browser's token: 403, nothing issued, the sign-in intact.
    let right = [("username", "olga"), ("password", PASSWORD)];
    let r = post(&gw, &b, &right).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = Browser::new();
    let foreign = begin(&gw, &other, &client_id).await;
    let mut forged = vec![("csrf_token", foreign.token.as_str())];
    forged.extend(right);
    let r = post(&gw, &b, &forged).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("location").is_none());
    let r = post(&gw, &b, &[("csrf_token", "made-up-token")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // The right password: back to the app with a code, as a federated sign-in.
    let mut fields = vec![("csrf_token", s.token.as_str())];
    fields.extend(right);
    let r = post(&gw, &b, &fields).await;
    let cleared = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().contains("Max-Age=0"));
    assert!(cleared, "the binding cookie ends");
    let q = landing(&r);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], gw.base);
    let claims = id_claims(&gw, &client_id, &q["code"], &s.verifier).await;
    assert_eq!(claims["cognito:username"], "olga");
    assert_eq!(claims["sub"], json!(sub_of(&gw, "olga").await));
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["email"], "olga@example.test");

    // The form is spent: posting it again finds nothing.
    let r = post(&gw, &b, &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The other browser's own sign-in still works with its own cookie.
    let mut own = vec![("csrf_token", foreign.token.as_str())];
    own.extend(right);
    let q = landing(&post(&gw, &other, &own).await);
    assert!(q.contains_key("code"));

    // A disabled user is refused and gets no code.
    ok(
        &gw,
        "AdminDisableUser",
        json!({"UserPoolId": "default", "Username": "olga"}),
    )
    .await;
    let s = begin(&gw, &b, &client_id).await;
    let mut fields = vec![("csrf_token", s.token.as_str())];
    fields.extend(right);
    let r = post(&gw, &b, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_new_password_then_totp_steps() {
    let (gw, client_id) = setup().await;
    create_user(&gw, "pavel", "Temporary-Pass-9").await;
    let b = Browser::new();
    let s = begin(&gw, &b, &client_id).await;
    let t = s.token.as_str();
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("username", "pavel"),
            ("password", "Temporary-Pass-9"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("Set a new password"), "{page}");
    assert!(page.contains("name=\"new_password\"") && page.contains("At least 8 characters"));
    // Two different passwords, then one the policy refuses: the form again.
    for (a, c, says) in [
        ("New-Password-77", "New-Password-78", "must be the same"),
        ("short", "short", "Password does not conform to policy"),
    ] {
        let r = post(
            &gw,
            &b,
            &[
                ("csrf_token", t),
                ("new_password", a),
                ("confirm_password", c),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(
            page.contains(says) && page.contains("role=\"alert\""),
            "{page}"
        );
    }
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("new_password", "New-Password-77"),
            ("confirm_password", "New-Password-77"),
        ],
    )
    .await;
    let q = landing(&r);
    let claims = id_claims(&gw, &client_id, &q["code"], &s.verifier).await;
    assert_eq!(claims["cognito:username"], "pavel");
    // The new password is the password now, through the API too.
    let access = access_token(&gw, &client_id, "pavel", "New-Password-77").await;

    // TOTP set up through the API, then asked on the hosted page.
    let (secret, step) = enable_totp(&gw, &access).await;
    let s = begin(&gw, &b, &client_id).await;
    let t = s.token.as_str();
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("username", "pavel"),
            ("password", "New-Password-77"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("name=\"code\"") && page.contains("one-time-code"),
        "{page}"
    );
    let next = totp::code_at(&secret, step + 1).unwrap();
    let wrong = if next == "123456" { "654321" } else { "123456" };
    let r = post(&gw, &b, &[("csrf_token", t), ("code", wrong)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("That code is not correct") && page.contains("role=\"alert\""));
    let q = landing(&post(&gw, &b, &[("csrf_token", t), ("code", &next)]).await);
    let claims = id_claims(&gw, &client_id, &q["code"], &s.verifier).await;
    assert_eq!(claims["cognito:username"], "pavel");
}
