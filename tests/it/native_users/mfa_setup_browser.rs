//! The hosted page's `MFA_SETUP` step in headless Chromium at 360 px, by keyboard: in a
//! pool whose MFA is `ON`, a user with no factor is shown a key and an `otpauth://`
//! link, a wrong code shows the step again with the error announced and focused (the
//! same key), the right one lands on the app; axe-core on each page. Over plain HTTP:
//! the step refuses a form without this browser's token.

use std::time::Duration;

use poolgate::native::totp;
use reqwest::StatusCode;
use serde_json::json;

use super::hosted_browser::{ENTER, TAB, check_step, focused, start, wait_for};
use super::mfa_setup::mfa_on;
use super::*;
use crate::browser::app_server;
use crate::harness::{Browser as Http, Gw, app_client_body};
use crate::webdriver::Browser;

fn step_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 30
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_mfa_setup_step_by_keyboard_in_chromium() {
    let gw = Gw::start().await;
    let (app, seen) = app_server().await;
    let redirect = app.join("/cb").unwrap().to_string();
    let mut body = app_client_body(&redirect, &["COGNITO"], false);
    body["explicit_auth_flows"] = json!(FLOWS);
    let (client, _) = gw.client(body).await;
    mfa_on(&gw).await;
    confirmed_user(&gw, "tess").await;

    let b = Browser::start().await;
    b.set_window(360, 800).await;
    start(&b, &gw, &client, &redirect).await;
    b.press(TAB).await;
    b.type_text("tess").await;
    b.press(TAB).await;
    b.type_text(PASSWORD).await;
    b.press(ENTER).await;
    wait_for(&b, "#secret").await;
    assert_eq!(b.title().await, "Set up an authenticator app · test app");
    let f = focused(&b).await;
    assert_eq!(f["id"], "code", "the code field has the focus: {f}");
    assert_eq!(f["described"], "setup-help");
    check_step(&b, "mfa setup").await;
    let secret = b.text(&b.find_all("#secret").await[0]).await;
    assert!(
        secret.len() >= 16 && secret.bytes().all(|c| c.is_ascii_alphanumeric()),
        "{secret}"
    );
    let href = b
        .execute(
            "return document.getElementById('otpauth').getAttribute('href');",
            json!([]),
        )
        .await;
    let href = href.as_str().unwrap();
    assert!(href.starts_with("otpauth://totp/"), "{href}");
    assert!(href.contains(&format!("secret={secret}")), "{href}");
    assert!(href.contains(":tess?"), "{href}");

    // A wrong code: the step again, the error read with the field, the same key.
    let good: Vec<String> = (0..3)
        .map(|d| totp::code_at(&secret, step_now() + d - 1).unwrap())
        .collect();
    let wrong = ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !good.iter().any(|g| g == c))
        .unwrap();
    b.type_text(wrong).await;
    b.press(ENTER).await;
    wait_for(&b, "#form-error").await;
    let f = focused(&b).await;
    assert_eq!(f["id"], "code");
    assert_eq!(f["described"], "form-error setup-help");
    assert_eq!(f["invalid"], "true");
    let err = b.find_all("[role=alert]").await;
    assert!(
        b.text(&err[0]).await.contains("not correct"),
        "the error says what is wrong"
    );
    assert_eq!(b.text(&b.find_all("#secret").await[0]).await, secret);
    assert!(seen.lock().unwrap().is_empty(), "no code reached the app");
    check_step(&b, "mfa setup error").await;

    // The right code, typed into the focused field: back at the app with a code.
    b.type_text(&totp::code_at(&secret, step_now()).unwrap())
        .await;
    b.press(ENTER).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    assert!(landed.contains("code="), "{landed}");
    b.quit().await;

    // The authenticator is now the user's: the API asks for it.
    let r = password_auth(&gw, &client, "tess", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_mfa_setup_step_refuses_forged_forms() {
    let (gw, client_id) = setup().await;
    mfa_on(&gw).await;
    confirmed_user(&gw, "ugo").await;
    let b = Http::new();
    let s = super::hosted::begin(&gw, &b, &client_id).await;
    let r = super::hosted::post(
        &gw,
        &b,
        &[
            ("csrf_token", &s.token),
            ("username", "ugo"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("id=\"secret\""), "{page}");
    // The link, as the page escapes it (`/` as `&#x2f;`).
    assert!(
        page.contains("href=\"otpauth:&#x2f;&#x2f;totp&#x2f;default:ugo?secret="),
        "{page}"
    );
    let at = page.find("id=\"secret\" class=\"secret\">").unwrap() + 27;
    let secret = page[at..].split('<').next().unwrap().to_owned();
    let code = totp::code_at(&secret, step_now()).unwrap();

    // No token, and the right token from another browser (no binding cookie): 403.
    let r = super::hosted::post(&gw, &b, &[("code", &code)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let other = Http::new();
    let r = super::hosted::post(&gw, &other, &[("csrf_token", &s.token), ("code", &code)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Nothing changed: the user still has no factor.
    let r = password_auth(&gw, &client_id, "ugo", PASSWORD).await;
    assert_eq!(r["ok"]["ChallengeName"], "MFA_SETUP", "{r}");
    // The step itself still goes on in its own browser.
    let r = super::hosted::post(&gw, &b, &[("csrf_token", &s.token), ("code", &code)]).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.contains("code="), "{loc}");
}
