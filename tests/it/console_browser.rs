//! The admin console in headless Chromium: keyboard sign-in, an OIDC provider
//! registered against the fake upstream through its form, a user disabled at 360 px,
//! axe-core on every page visited (no serious or critical violation), screenshots in
//! the test artifacts.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{axe, serious};
use crate::console::seed_user;
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{ADMIN_TOKEN, Gw};
use crate::webdriver::Browser;

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Checks the page has no serious or critical axe violation and no sideways scroll;
/// saves a screenshot as `name`.
pub(crate) async fn check_page(b: &Browser, name: &str) {
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
    std::fs::write(
        artifacts().join(format!("{name}.png")),
        b.screenshot().await,
    )
    .unwrap();
}

/// Waits until an element matching `css` is on the page.
pub(crate) async fn wait_for(b: &Browser, css: &str) {
    for _ in 0..100 {
        if !b.find_all(css).await.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let page = b
        .execute("return document.documentElement.outerHTML;", json!([]))
        .await;
    panic!("{css} never appeared on {}: {page}", b.url().await);
}

/// Sets the value of the input with `id` (what typing would do; WebDriver typing of
/// long values is slow and adds nothing here).
pub(crate) async fn fill(b: &Browser, id: &str, value: &str) {
    b.execute(
        "document.getElementById(arguments[0]).value = arguments[1];",
        json!([id, value]),
    )
    .await;
}

#[tokio::test]
async fn console_in_chromium() {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    seed_user(&gw, "ada").await;
    let b = Browser::start().await;
    // 1024 px wide: the README's screenshots are taken at this size.
    b.set_window(1024, 768).await;

    // Keyboard only: the token field has the focus; Enter submits.
    b.goto(&gw.url("/console")).await;
    assert!(b.url().await.ends_with("/console/signin"));
    assert_eq!(b.title().await, "Sign in · poolgate console");
    check_page(&b, "console-signin").await;
    let focused = b
        .execute("return document.activeElement.id;", json!([]))
        .await;
    assert_eq!(focused, "token");
    fill(&b, "token", "wrong-token-0123456789").await;
    b.press("\u{E007}").await;
    wait_for(&b, "#token-problem").await;
    fill(&b, "token", ADMIN_TOKEN).await;
    b.press("\u{E007}").await;
    b.wait_for_url(
        &gw.url("/console/pools"),
        std::time::Duration::from_secs(10),
    )
    .await;
    // The first Tab reaches the skip link, visibly focused.
    b.press("\u{E004}").await;
    let f = b
        .execute(
            "const e = document.activeElement, s = getComputedStyle(e); return {text: e.textContent, outline: s.outlineStyle};",
            json!([]),
        )
        .await;
    assert_eq!(f["text"], "Skip to content", "{f}");
    assert_eq!(f["outline"], "solid", "{f}");
    check_page(&b, "console-pools").await;

    // Register an OIDC provider against the test upstream through its form.
    b.goto(&gw.url("/console/pools/default/providers/new?type=OIDC"))
        .await;
    let o = fake.opts();
    fill(&b, "name", "Corp").await;
    fill(&b, "f-issuer", &fake.issuer()).await;
    fill(&b, "f-client_id", &o.client_id).await;
    fill(&b, "f-client_secret", &o.client_secret).await;
    check_page(&b, "console-provider").await;
    let submit = b
        .find_all("form[action$='/providers'] button[type=submit]")
        .await;
    b.click(&submit[0]).await;
    b.wait_for_url(
        &gw.url("/console/pools/default/providers?ok="),
        std::time::Duration::from_secs(10),
    )
    .await;
    let (s, v) = gw.admin("GET", "/pools/default/providers/Corp", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["details"]["issuer"], json!(fake.issuer()));

    // Test sign-in: the provider page's button opens a new tab that signs in through
    // the fake upstream and shows the claims; the test user is removed from there.
    b.goto(&gw.url("/console/pools/default/providers/Corp"))
        .await;
    let first = b.current_window().await;
    let test = b
        .find_all("form[action$='/providers/Corp/test'] button")
        .await;
    b.click(&test[0]).await;
    let mut tab = None;
    for _ in 0..100 {
        tab = b.windows().await.into_iter().find(|h| *h != first);
        if tab.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.switch_to(&tab.expect("Test sign-in opens a new tab"))
        .await;
    wait_for(&b, "#test-ok").await;
    assert!(
        b.url()
            .await
            .starts_with(&gw.url("/console/pools/default/test/callback?"))
    );
    let email = b.find_all("#identity-email").await;
    assert_eq!(b.text(&email[0]).await, "ada@example.com");
    let rows = b.find_all("#id-claims tbody tr").await;
    let mut id_claims = std::collections::BTreeMap::new();
    for r in rows {
        let t = b.text(&r).await;
        let (k, v) = t.split_once(' ').unwrap_or((&t, ""));
        id_claims.insert(k.to_owned(), v.trim().to_owned());
    }
    assert_eq!(id_claims["token_use"], "id", "{id_claims:?}");
    assert_eq!(id_claims["email"], "ada@example.com", "{id_claims:?}");
    assert_eq!(id_claims["aud"], "poolgate-test-sign-in", "{id_claims:?}");
    check_page(&b, "console-test-signin").await;
    let username = b.text(&b.find_all("#test-username").await[0]).await;
    let (s, _) = gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let remove = b.find_all("form[action$='/test/remove'] button").await;
    b.click(&remove[0]).await;
    b.wait_for_url(
        &gw.url("/console/pools/default/users?ok=test-user-removed"),
        std::time::Duration::from_secs(10),
    )
    .await;
    let (s, _) = gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    b.switch_to(&first).await;

    // A confidential client's page, with a second secret just added (shown once).
    let (client, _) = gw
        .client(crate::harness::app_client_body(
            "http://127.0.0.1:9/cb",
            &["Corp"],
            true,
        ))
        .await;
    b.goto(&gw.url(&format!("/console/pools/default/clients/{client}")))
        .await;
    let add = b.find_all("form[action$='/secrets'] button").await;
    b.click(&add[0]).await;
    wait_for(&b, "#client-secret").await;
    assert_eq!(b.find_all("#secrets tbody tr").await.len(), 2);
    check_page(&b, "console-client").await;

    // Groups: the list with its form, a group made from it, its page.
    b.goto(&gw.url("/console/pools/default/groups")).await;
    check_page(&b, "console-groups").await;
    fill(&b, "name", "admins").await;
    fill(&b, "precedence", "1").await;
    fill(&b, "description", "People who run things").await;
    let create = b
        .find_all("form[action$='/groups'] button[type=submit]")
        .await;
    b.click(&create[0]).await;
    b.wait_for_url(
        &gw.url("/console/pools/default/groups/admins?ok=group-created"),
        std::time::Duration::from_secs(10),
    )
    .await;
    fill(&b, "username", "ada").await;
    let add = b.find_all("form[action$='/add'] button").await;
    b.click(&add[0]).await;
    b.wait_for_url(
        &gw.url("/console/pools/default/groups/admins?ok=member-added"),
        std::time::Duration::from_secs(10),
    )
    .await;
    assert_eq!(b.find_all("#members a").await.len(), 1);
    check_page(&b, "console-group").await;

    // A pool's settings and domains, and a user disabled with one click, at 360 px.
    b.set_window(360, 800).await;
    let width = b.execute("return window.innerWidth;", json!([])).await;
    assert!(width.as_u64().unwrap() <= 360, "{width}");
    b.goto(&gw.url("/console/pools/default")).await;
    check_page(&b, "console-pool-narrow").await;
    b.goto(&gw.url("/console/pools/default/users/ada")).await;
    check_page(&b, "console-user-narrow").await;
    let disable = b.find_all("form[action$='/disable'] button").await;
    b.click(&disable[0]).await;
    b.wait_for_url(
        &gw.url("/console/pools/default/users/ada?ok="),
        std::time::Duration::from_secs(10),
    )
    .await;
    let (_, v) = gw.admin("GET", "/pools/default/users/ada", None).await;
    assert_eq!(v["enabled"], false);
    b.quit().await;
}
