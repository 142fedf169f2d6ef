//! The console's sign-in through a pool in headless Chromium: "Sign in with default" on
//! the sign-in page, the pool's hosted page, the fake OIDC upstream, and back; a
//! non-member sees the 403 page and the browser keeps no session cookie; a member sees
//! the pools with their name in the header, and signs out; the admin token still signs
//! in. axe-core on every new page (the two that move on by themselves are checked with
//! their refresh taken out), screenshots in the test artifacts.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::console_browser::{check_page, fill, wait_for};
use crate::console_pool_signin::{GROUP, callback, gateway, run_pool, start};
use crate::harness::{ADMIN_TOKEN, Gw};
use crate::webdriver::Browser;

fn has_cookie(cookies: &[Value], name: &str) -> bool {
    cookies.iter().any(|c| c["name"] == name)
}

/// From the sign-in page, through the pool's hosted page and `Corp`, to wherever the
/// console's callback leads.
async fn sign_in_through_pool(b: &Browser, gw: &Gw) {
    b.goto(&gw.url("/console/signin")).await;
    let button = b.find_all("#pool-signin").await;
    assert_eq!(b.text(&button[0]).await, "Sign in with default");
    b.click(&button[0]).await;
    b.wait_for_url(&gw.url("/login?"), Duration::from_secs(10))
        .await;
    assert_eq!(b.title().await, "Sign in · poolgate console");
    let corp = b.find_all("button.provider").await;
    assert_eq!(corp.len(), 1);
    assert_eq!(b.text(&corp[0]).await, "Continue with Corp");
    b.click(&corp[0]).await;
    b.wait_for_url(&gw.url("/console/"), Duration::from_secs(30))
        .await;
}

/// Shows `html` (a console page) without its `<meta http-equiv="refresh">`, on the
/// console's origin so that its stylesheet applies, and checks it.
async fn check_markup(b: &Browser, html: &str, name: &str) {
    let start = html.find("<meta http-equiv=\"refresh\"").unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    let still = format!("{}{}", &html[..start], &html[end..]);
    b.execute(
        "document.open(); document.write(arguments[0]); document.close();",
        json!([still]),
    )
    .await;
    for _ in 0..50 {
        let bg = b
            .execute(
                "return getComputedStyle(document.body).backgroundColor;",
                json!([]),
            )
            .await;
        if bg == "rgb(243, 244, 246)" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check_page(b, name).await;
}

#[tokio::test]
async fn console_pool_sign_in_in_chromium() {
    let (gw, _fake) = gateway().await;
    let store = gw.running.as_ref().unwrap().store.clone();
    let b = Browser::start().await;
    b.set_window(1024, 768).await;

    // The sign-in page offers the pool's sign-in beside the token.
    b.goto(&gw.url("/console")).await;
    assert!(b.url().await.ends_with("/console/signin"));
    check_page(&b, "console-signin-pool").await;
    assert_eq!(b.find_all("#token").await.len(), 1);

    // Not a member (the user is made by this first sign-in): the 403 page, and the
    // browser holds no session cookie.
    sign_in_through_pool(&b, &gw).await;
    wait_for(&b, "#signin-refused").await;
    assert!(b.url().await.starts_with(&gw.url("/console/callback?")));
    let (_, users) = gw.admin("GET", "/pools/default/users", None).await;
    let username = users["items"][0]["username"].as_str().unwrap().to_owned();
    let sub = users["items"][0]["sub"].as_str().unwrap().to_owned();
    let text = b.text(&b.find_all("#signin-refused").await[0]).await;
    assert!(text.contains(&username) && text.contains(GROUP), "{text}");
    check_page(&b, "console-signin-refused").await;
    let cookies = b.cookies().await;
    assert!(!has_cookie(&cookies, "poolgate-console"), "{cookies:?}");
    assert!(
        !has_cookie(&cookies, "poolgate-console-signin"),
        "{cookies:?}"
    );
    b.goto(&gw.url("/console/pools")).await;
    assert!(b.url().await.ends_with("/console/signin"));

    // A member: the pools, with their name in the header.
    store.add_to_group("default", GROUP, &sub).await.unwrap();
    sign_in_through_pool(&b, &gw).await;
    b.wait_for_url(&gw.url("/console/pools"), Duration::from_secs(10))
        .await;
    let who = b.find_all("#signed-in-as").await;
    assert_eq!(b.text(&who[0]).await, username);
    let session = b
        .cookies()
        .await
        .into_iter()
        .find(|c| c["name"] == "poolgate-console")
        .expect("a session cookie");
    assert_eq!(session["httpOnly"], true, "{session}");
    assert_eq!(session["sameSite"], "Strict", "{session}");
    check_page(&b, "console-pools-member").await;
    b.set_window(360, 800).await;
    check_page(&b, "console-pools-member-narrow").await;
    b.set_window(1024, 768).await;

    // Sign-out ends it.
    let out = b.find_all("form[action='/console/signout'] button").await;
    b.click(&out[0]).await;
    b.wait_for_url(&gw.url("/console/signin"), Duration::from_secs(10))
        .await;
    b.goto(&gw.url("/console/pools")).await;
    assert!(b.url().await.ends_with("/console/signin"));

    // The two pages that move on by themselves, as fetched over HTTP.
    let (start_page, authorize, binding) = start(&gw).await;
    check_markup(&b, &start_page, "console-signin-pool-start").await;
    let back = run_pool(&gw, &authorize).await;
    let (s, _, signed_in) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::OK);
    check_markup(&b, &signed_in, "console-signed-in").await;

    // The admin token still signs in, with no name in the header.
    b.goto(&gw.url("/console/signin")).await;
    fill(&b, "token", ADMIN_TOKEN).await;
    let submit = b.find_all("form[action='/console/signin'] button").await;
    b.click(&submit[0]).await;
    b.wait_for_url(&gw.url("/console/pools"), Duration::from_secs(10))
        .await;
    assert!(b.find_all("#signed-in-as").await.is_empty());
    b.quit().await;
}
