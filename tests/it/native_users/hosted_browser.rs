//! The hosted password form in headless Chromium at 360 px, by keyboard only: a wrong
//! password (the error announced and focused), the right one, the new-password and TOTP
//! steps; axe-core on every step page (no serious or critical violation).

use std::time::Duration;

use poolgate::native::totp;
use serde_json::json;

use super::*;
use crate::browser::{app_server, axe, serious};
use crate::harness::{Gw, authorize_url, pkce};
use crate::webdriver::Browser;

pub(super) const TAB: &str = "\u{E004}";
pub(super) const ENTER: &str = "\u{E007}";

/// No serious or critical axe violation, nothing scrolls sideways, no script.
pub(super) async fn check_step(b: &Browser, name: &str) {
    let violations = axe(b).await;
    assert!(
        serious(&violations).is_empty(),
        "{name}: accessibility violations: {violations:#?}"
    );
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    assert_eq!(overflow, json!(0), "{name}: scrolls sideways");
    assert_eq!(b.find_all("script").await.len(), 0);
}

/// The focused element's id and what describes it.
pub(super) async fn focused(b: &Browser) -> serde_json::Value {
    b.execute(
        "const e = document.activeElement;
         return {id: e.id, described: e.getAttribute('aria-describedby'), invalid: e.getAttribute('aria-invalid')};",
        json!([]),
    )
    .await
}

/// Waits for an element matching `css`.
pub(super) async fn wait_for(b: &Browser, css: &str) {
    for _ in 0..100 {
        if !b.find_all(css).await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never appeared at {}", b.url().await);
}

pub(super) async fn start(b: &Browser, gw: &Gw, client: &str, redirect: &str) {
    let (_, challenge) = pkce();
    b.goto(&authorize_url(
        gw,
        client,
        redirect,
        &[
            ("state", "s"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    ))
    .await;
    wait_for(b, "input#username").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_password_form_by_keyboard_in_chromium() {
    let gw = Gw::start().await;
    let (app, seen) = app_server().await;
    let redirect = app.join("/cb").unwrap().to_string();
    let (client, _) = gw.client(native_client_at(&redirect, false)).await;
    confirmed_user(&gw, "rita").await;
    create_user(&gw, "sam", "Temporary-Pass-9").await;

    let b = Browser::start().await;
    b.set_window(360, 800).await;
    start(&b, &gw, &client, &redirect).await;
    assert_eq!(b.title().await, "Sign in · test app");
    check_step(&b, "password form").await;

    // Keyboard: Tab to the username, type, Tab to the password, Enter.
    b.press(TAB).await;
    assert_eq!(focused(&b).await["id"], "username");
    b.type_text("rita").await;
    b.press(TAB).await;
    b.type_text("Not-The-Password-1").await;
    b.press(ENTER).await;
    wait_for(&b, "#form-error").await;
    let f = focused(&b).await;
    assert_eq!(
        f["id"], "password",
        "the field to correct has the focus: {f}"
    );
    assert_eq!(f["described"], "form-error");
    assert_eq!(f["invalid"], "true");
    let err = b.find_all("[role=alert]").await;
    assert_eq!(b.text(&err[0]).await, "Incorrect username or password.");
    assert!(seen.lock().unwrap().is_empty(), "no code reached the app");
    check_step(&b, "password error").await;

    // The right password, typed into the focused field.
    b.type_text(PASSWORD).await;
    b.press(ENTER).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    assert!(landed.contains("code="), "{landed}");

    // A temporary password: the new-password step, its policy read with the field.
    start(&b, &gw, &client, &redirect).await;
    b.press(TAB).await;
    b.type_text("sam").await;
    b.press(TAB).await;
    b.type_text("Temporary-Pass-9").await;
    b.press(ENTER).await;
    wait_for(&b, "input#new_password").await;
    let f = focused(&b).await;
    assert_eq!(f["id"], "new_password");
    assert_eq!(f["described"], "policy");
    check_step(&b, "new password").await;
    b.type_text("Brand-New-Pass-5").await;
    b.press(TAB).await;
    b.type_text("Brand-New-Pass-5").await;
    b.press(ENTER).await;
    b.wait_for_url(&redirect, Duration::from_secs(30)).await;

    // TOTP: set up through the API, then the code step by keyboard.
    let access = access_token(&gw, &client, "sam", "Brand-New-Pass-5").await;
    let (secret, step) = enable_totp(&gw, &access).await;
    start(&b, &gw, &client, &redirect).await;
    b.press(TAB).await;
    b.type_text("sam").await;
    b.press(TAB).await;
    b.type_text("Brand-New-Pass-5").await;
    b.press(ENTER).await;
    wait_for(&b, "input#code").await;
    assert_eq!(focused(&b).await["id"], "code");
    check_step(&b, "totp").await;
    b.type_text(&totp::code_at(&secret, step + 1).unwrap())
        .await;
    b.press(ENTER).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    assert!(landed.contains("code="), "{landed}");
    b.quit().await;
}
