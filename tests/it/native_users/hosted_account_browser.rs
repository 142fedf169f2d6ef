//! The hosted sign-up and password reset in headless Chromium at 360 px: from the
//! sign-in form's links, by keyboard, with the codes read from the SMTP sink the test
//! starts; axe-core on every page and on an error (no serious or critical violation).

use std::time::Duration;

use serde_json::json;

use super::hosted_browser::{ENTER, TAB, check_step, focused, start, wait_for};
use super::*;
use crate::browser::app_server;
use crate::webdriver::Browser;

/// Focuses the field `id` and types `text` into it.
async fn fill(b: &Browser, id: &str, text: &str) {
    b.execute(
        "document.getElementById(arguments[0]).focus();",
        json!([id]),
    )
    .await;
    b.type_text(text).await;
}

/// Follows the sign-in form's link to `path`.
async fn follow_link(b: &Browser, path: &str) {
    let links = b.find_all(&format!("a[href^='{path}?']")).await;
    assert_eq!(links.len(), 1, "one link to {path} at {}", b.url().await);
    b.click(&links[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_sign_up_and_password_reset_in_chromium() {
    let (gw, sink) = mailing_gateway(None).await;
    let (app, seen) = app_server().await;
    let redirect = app.join("/cb").unwrap().to_string();
    let (client, _) = gw.client(native_client_at(&redirect, false)).await;

    let b = Browser::start().await;
    b.set_window(360, 800).await;
    start(&b, &gw, &client, &redirect).await;
    check_step(&b, "sign-in form with its links").await;

    // Sign up.
    follow_link(&b, "/signup").await;
    wait_for(&b, "input#email").await;
    assert_eq!(b.title().await, "Sign up · test app");
    check_step(&b, "sign-up form").await;
    fill(&b, "username", "vera").await;
    b.press(TAB).await;
    assert_eq!(focused(&b).await["id"], "email");
    b.type_text("vera@example.test").await;
    b.press(TAB).await;
    let f = focused(&b).await;
    assert_eq!(f["id"], "password");
    assert_eq!(
        f["described"], "policy",
        "the policy is read with the field"
    );
    b.type_text(PASSWORD).await;
    b.press(ENTER).await;

    // The code step: focused, said where the code went.
    wait_for(&b, "input#code").await;
    assert_eq!(focused(&b).await["id"], "code");
    let notice = b.find_all("#form-notice").await;
    assert!(b.text(&notice[0]).await.contains("v***@e***"));
    check_step(&b, "confirmation code").await;
    let code = sink.wait_for("vera@example.test", 0).await.code().unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    b.type_text(wrong).await;
    b.press(ENTER).await;
    wait_for(&b, "#form-error").await;
    let f = focused(&b).await;
    assert_eq!(f["id"], "code", "the field to correct has the focus: {f}");
    assert_eq!(f["invalid"], "true");
    assert_eq!(f["described"], "form-error code-help");
    check_step(&b, "wrong code").await;
    assert!(seen.lock().unwrap().is_empty(), "no code reached the app");
    b.type_text(&code).await;
    b.press(ENTER).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    assert!(
        landed.contains("code=") && landed.contains("state=s"),
        "{landed}"
    );

    // Forgot the password: the reset pages, then the sign-in form again.
    start(&b, &gw, &client, &redirect).await;
    follow_link(&b, "/forgotPassword").await;
    wait_for(&b, "#forgot-help").await;
    check_step(&b, "forgot-password form").await;
    fill(&b, "username", "vera").await;
    b.press(ENTER).await;
    wait_for(&b, "input#new_password").await;
    assert_eq!(focused(&b).await["id"], "code");
    check_step(&b, "reset code and new password").await;
    let reset = sink.wait_for("vera@example.test", 1).await.code().unwrap();
    b.type_text(&reset).await;
    b.press(TAB).await;
    assert_eq!(focused(&b).await["id"], "new_password");
    b.type_text("Brand-New-Pass-5").await;
    b.press(TAB).await;
    b.type_text("Brand-New-Pass-5").await;
    b.press(ENTER).await;
    wait_for(&b, "input#password").await;
    let notice = b.find_all("#form-notice").await;
    assert_eq!(
        b.text(&notice[0]).await,
        "Your password has been reset. Sign in with your new password."
    );
    check_step(&b, "sign-in form after the reset").await;
    fill(&b, "password", "Brand-New-Pass-5").await;
    b.press(ENTER).await;
    let landed = b.wait_for_url(&redirect, Duration::from_secs(30)).await;
    assert!(landed.contains("code="), "{landed}");
    assert_eq!(seen.lock().unwrap().len(), 2);
    b.quit().await;
}
