//! The hosted sign-up and password-reset pages over real HTTP (reqwest with a cookie
//! jar), codes read from the SMTP sink: the links of the sign-in form, the pages
//! refused (404) when only admins create users, forms without this browser's token,
//! posted to another step's path, a wrong and an expired code, and an account that
//! must reset its password sent to the reset form from the sign-in form.

use std::sync::Arc;

use poolgate::clock::FixedClock;
use reqwest::StatusCode;
use serde_json::json;

use super::hosted::{begin, csrf_of, post};
use super::smtp_sink::SmtpSink;
use super::*;
use crate::cognito_api::ok;
use crate::harness::{Browser, Gw};

const APP: &str = "http://127.0.0.1:9/cb";

/// A gateway mailing through a fresh sink, on `clock`, with a `COGNITO` client.
async fn mailing(clock: Arc<FixedClock>) -> (Gw, String, SmtpSink) {
    let (gw, sink) = mailing_gateway(Some(clock as SharedClock)).await;
    let (client_id, _) = gw.client(native_client_body(false)).await;
    (gw, client_id, sink)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The text of an HTML attribute value, as a browser reads it.
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The absolute URL of the first link of `page` to `path` (`/signup?...`).
pub fn link_to(gw: &Gw, page: &str, path: &str) -> Option<String> {
    page.split("href=\"").skip(1).find_map(|rest| {
        let href = unescape(rest.split('"').next().unwrap_or(""));
        href.starts_with(&format!("{path}?")).then(|| gw.url(&href))
    })
}

/// Posts `fields` to `path` from `b`.
async fn post_to(gw: &Gw, b: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    b.http.post(gw.url(path)).form(fields).send().await.unwrap()
}

/// A `200` form page: its body.
async fn form_page(r: reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("location").is_none());
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"));
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script"), "no script: {page}");
    page
}

/// The app's callback of a redirect: whether it carries a code.
fn lands_with_code(r: &reqwest::Response) -> bool {
    r.status() == StatusCode::FOUND
        && r.headers()["location"].to_str().unwrap().starts_with(APP)
        && r.headers()["location"].to_str().unwrap().contains("code=")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_sign_up_with_its_refusals_wrong_and_expired_codes() {
    let clock = Arc::new(FixedClock::at(now_ms()));
    let (gw, client_id, sink) = mailing(clock.clone()).await;
    confirmed_user(&gw, "olga").await;
    let b = Browser::new();
    let s = begin(&gw, &b, &client_id).await;
    let signup = link_to(&gw, &s.page, "/signup").expect("a sign-up link");
    assert!(
        signup.contains("code_challenge=") && signup.contains("state=st-1"),
        "{signup}"
    );
    assert!(link_to(&gw, &s.page, "/forgotPassword").is_some());

    let page = form_page(b.http.get(&signup).send().await.unwrap()).await;
    assert!(page.contains("<h1>Sign up</h1>"), "{page}");
    assert!(page.contains("autocomplete=\"new-password\""));
    let token = csrf_of(&page);
    let fields = |user: &'static str, pw: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("username", user.to_owned()),
            ("email", format!("{user}@example.test")),
            ("password", pw.to_owned()),
        ]
    };

    // Without the token, or from a browser without the cookie: 403, no user.
    let r = b
        .http
        .post(gw.url("/signup"))
        .form(&fields("mona", PASSWORD)[1..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let stranger = Browser::new();
    let r = stranger
        .http
        .post(gw.url("/signup"))
        .form(&fields("mona", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The same form posted to another step's path changes nothing either.
    let r = b
        .http
        .post(gw.url("/confirmForgotPassword"))
        .form(&fields("mona", PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        admin_get_user(&gw, "mona").await["error"]["Code"],
        "UserNotFoundException"
    );

    // A taken username and a weak password: the form again with the error, no user.
    let r = b
        .http
        .post(gw.url("/signup"))
        .form(&fields("olga", PASSWORD))
        .send()
        .await
        .unwrap();
    let page = form_page(r).await;
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(
        page.contains("An account with this username already exists."),
        "{page}"
    );
    let r = b
        .http
        .post(gw.url("/signup"))
        .form(&fields("mona", "short"))
        .send()
        .await
        .unwrap();
    let page = form_page(r).await;
    assert!(
        page.contains("Password does not conform to policy"),
        "{page}"
    );
    assert!(
        page.contains("aria-describedby=\"form-error policy\""),
        "{page}"
    );
    assert!(
        page.contains("value=\"mona@example.test\""),
        "the email is kept"
    );
    assert_eq!(
        admin_get_user(&gw, "mona").await["error"]["Code"],
        "UserNotFoundException"
    );

    // Signed up: UNCONFIRMED, a code mailed, the code step.
    let r = b
        .http
        .post(gw.url("/signup"))
        .form(&fields("mona", PASSWORD))
        .send()
        .await
        .unwrap();
    let page = form_page(r).await;
    assert!(page.contains("<h1>Confirm your account</h1>"), "{page}");
    assert!(
        page.contains("We sent a code by email to m***@e***"),
        "{page}"
    );
    assert_eq!(
        admin_get_user(&gw, "mona").await["ok"]["UserStatus"],
        "UNCONFIRMED"
    );
    let code = sink.wait_for("mona@example.test", 0).await.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let t = token.as_str();

    // A wrong code: the error on the code field; still UNCONFIRMED.
    let page =
        form_page(post_to(&gw, &b, "/confirm", &[("csrf_token", t), ("code", wrong)]).await).await;
    assert!(page.contains("That code is not correct."), "{page}");
    assert!(
        page.contains("aria-describedby=\"form-error code-help\""),
        "{page}"
    );
    assert_eq!(
        admin_get_user(&gw, "mona").await["ok"]["UserStatus"],
        "UNCONFIRMED"
    );

    // A day later the code has expired: said so; a new code is sent on request (the
    // code check reads the gateway's clock, the ephemeral store's TTL the real one).
    clock.advance_secs(86_400 + 1);
    let page = form_page(
        post_to(
            &gw,
            &b,
            "/confirm",
            &[("csrf_token", t), ("code", code.as_str())],
        )
        .await,
    )
    .await;
    assert!(page.contains("That code has expired"), "{page}");
    // Back to the real time (SigV4 requests from the test are refused 5 minutes off).
    clock.advance_secs(-(86_400 + 1));
    assert_eq!(
        admin_get_user(&gw, "mona").await["ok"]["UserStatus"],
        "UNCONFIRMED"
    );
    let page = form_page(
        post_to(
            &gw,
            &b,
            "/confirm",
            &[("csrf_token", t), ("action", "resend")],
        )
        .await,
    )
    .await;
    assert!(page.contains("We sent a code by email to"), "{page}");
    let fresh = sink.wait_for("mona@example.test", 1).await.code().unwrap();

    // The right code: CONFIRMED, email verified, and the app gets its code.
    let r = post_to(
        &gw,
        &b,
        "/confirm",
        &[("csrf_token", t), ("code", fresh.as_str())],
    )
    .await;
    assert!(lands_with_code(&r), "{:?}", r.headers());
    let u = admin_get_user(&gw, "mona").await;
    assert_eq!(u["ok"]["UserStatus"], "CONFIRMED", "{u}");
    assert!(
        u["ok"]["UserAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Name"] == "email_verified" && a["Value"] == "true"),
        "{u}"
    );
    // Spent: the same form again finds nothing.
    let r = post_to(
        &gw,
        &b,
        "/confirm",
        &[("csrf_token", t), ("code", fresh.as_str())],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_is_refused_when_only_admins_create_users() {
    let (gw, client_id, _sink) = mailing(Arc::new(FixedClock::at(now_ms()))).await;
    let b = Browser::new();
    // A sign-up page opened while self sign-up was allowed.
    let s = begin(&gw, &b, &client_id).await;
    let signup = link_to(&gw, &s.page, "/signup").unwrap();
    let page = form_page(b.http.get(&signup).send().await.unwrap()).await;
    let token = csrf_of(&page);

    let (st, v) = gw
        .admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"admin_create_user_config": {"AllowAdminCreateUserOnly": true}}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let s = begin(&gw, &b, &client_id).await;
    assert_eq!(link_to(&gw, &s.page, "/signup"), None, "no sign-up link");
    assert!(
        link_to(&gw, &s.page, "/forgotPassword").is_some(),
        "admins' users may still reset their password"
    );
    let r = b.http.get(&signup).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Sign-up is not available"));
    let r = post_to(
        &gw,
        &b,
        "/signup",
        &[
            ("csrf_token", token.as_str()),
            ("username", "nina"),
            ("email", "nina@example.test"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin_get_user(&gw, "nina").await["error"]["Code"],
        "UserNotFoundException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_required_user_is_sent_to_the_reset_form_and_unknown_users_look_alike() {
    let (gw, client_id, sink) = mailing(Arc::new(FixedClock::at(now_ms()))).await;
    confirmed_user(&gw, "rosa").await;
    ok(
        &gw,
        "AdminResetUserPassword",
        json!({"UserPoolId": "default", "Username": "rosa"}),
    )
    .await;
    let admin_code = sink.wait_for("rosa@example.test", 0).await;
    assert!(admin_code.code().is_some());

    // The old password on the sign-in form: the reset form, name filled in, said why.
    let b = Browser::new();
    let s = begin(&gw, &b, &client_id).await;
    let t = s.token.as_str();
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("username", "rosa"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let page = form_page(r).await;
    assert!(page.contains("<h1>Forgot your password?</h1>"), "{page}");
    assert!(
        page.contains("You must reset your password before you can sign in."),
        "{page}"
    );
    assert!(page.contains("value=\"rosa\""), "{page}");
    assert!(page.contains("role=\"status\""));

    // The reset: a code for rosa, and for an unknown name a page just like it.
    let known = form_page(
        post_to(
            &gw,
            &b,
            "/forgotPassword",
            &[("csrf_token", t), ("username", "rosa")],
        )
        .await,
    )
    .await;
    assert!(known.contains("<h1>Reset your password</h1>"), "{known}");
    let other = Browser::new();
    let s2 = begin(&gw, &other, &client_id).await;
    let forgot = link_to(&gw, &s2.page, "/forgotPassword").unwrap();
    let page = form_page(other.http.get(&forgot).send().await.unwrap()).await;
    let t2 = csrf_of(&page);
    let unknown = form_page(
        post_to(
            &gw,
            &other,
            "/forgotPassword",
            &[("csrf_token", t2.as_str()), ("username", "robin")],
        )
        .await,
    )
    .await;
    // Alike but for the token, the name and the app's request in the links.
    let shape = |p: &str| {
        p.replace(&csrf_of(p), "TOKEN")
            .replace("rosa", "NAME")
            .replace("robin", "NAME")
            .lines()
            .filter(|l| !l.contains("href="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        shape(&known),
        shape(&unknown),
        "the pages do not tell who has an account"
    );
    // A wrong code for the unknown name reads as a wrong code.
    let page = form_page(
        post_to(
            &gw,
            &other,
            "/confirmForgotPassword",
            &[
                ("csrf_token", t2.as_str()),
                ("code", "123456"),
                ("new_password", "Brand-New-Pass-5"),
                ("confirm_password", "Brand-New-Pass-5"),
            ],
        )
        .await,
    )
    .await;
    assert!(page.contains("That code is not correct."), "{page}");

    // rosa's code, two passwords that differ, then the new password: back to sign-in.
    let code = sink.wait_for("rosa@example.test", 1).await.code().unwrap();
    let page = form_page(
        post_to(
            &gw,
            &b,
            "/confirmForgotPassword",
            &[
                ("csrf_token", t),
                ("code", code.as_str()),
                ("new_password", "Brand-New-Pass-5"),
                ("confirm_password", "Brand-New-Pass-6"),
            ],
        )
        .await,
    )
    .await;
    assert!(page.contains("must be the same"), "{page}");
    let page = form_page(
        post_to(
            &gw,
            &b,
            "/confirmForgotPassword",
            &[
                ("csrf_token", t),
                ("code", code.as_str()),
                ("new_password", "Brand-New-Pass-5"),
                ("confirm_password", "Brand-New-Pass-5"),
            ],
        )
        .await,
    )
    .await;
    assert!(page.contains("Your password has been reset."), "{page}");
    assert!(
        page.contains("name=\"password\""),
        "the sign-in form: {page}"
    );
    assert_eq!(
        admin_get_user(&gw, "rosa").await["ok"]["UserStatus"],
        "CONFIRMED"
    );
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", t),
            ("username", "rosa"),
            ("password", "Brand-New-Pass-5"),
        ],
    )
    .await;
    assert!(lands_with_code(&r), "{:?}", r.headers());
}
