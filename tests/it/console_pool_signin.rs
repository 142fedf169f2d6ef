//! The console's sign-in through a pool (`POOLGATE_CONSOLE_POOL`, `_GROUP`) over real
//! HTTP: the sign-in page offers it, its start is held to the form's CSRF token, the
//! console's client is made in the pool, a non-member gets a 403 page and no session, a
//! member gets the console with their name; answers without the browser's cookie, with
//! a tampered state or replayed are refused; a member removed from the group, disabled
//! or signed out everywhere loses the session at the next request; the token sign-in
//! still works. The browser side is in `console_pool_browser`.

use poolgate::model::Group;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN};
use serde_json::json;

use crate::console::{Console, between, cookie_pair, hidden, moves_on_to, set_cookies};
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{Browser, Gw, Landing};

pub(crate) const GROUP: &str = "console-admins";

/// A gateway whose console also signs in through pool `default`, group [`GROUP`] (made,
/// empty), with the OIDC provider `Corp` of a fake upstream.
pub(crate) async fn gateway() -> (Gw, oidc::FakeHandle) {
    let gw = Gw::start_env(&[
        ("POOLGATE_CONSOLE_POOL", "default"),
        ("POOLGATE_CONSOLE_GROUP", GROUP),
    ])
    .await;
    let fake = oidc::start(OidcOpts::default()).await;
    gw.put_provider("Corp", json!({"type": "OIDC", "details": fake.details()}))
        .await;
    let store = &gw.running.as_ref().unwrap().store;
    store
        .create_group(&Group {
            pool_id: "default".into(),
            name: GROUP.into(),
            description: None,
            precedence: Some(1),
            role_arn: None,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_000,
        })
        .await
        .unwrap();
    (gw, fake)
}

/// The sign-in page: its body and the form's pre-session cookie (`name=value`).
async fn signin_page(gw: &Gw) -> (String, String) {
    let r = gw.http.get(gw.url("/console/signin")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pre = cookie_pair(&set_cookies(&r), "poolgate-console-pre").unwrap();
    (r.text().await.unwrap(), pre)
}

/// Begins a sign-in through the pool: the page it answers, the authorize URL the page
/// moves on to, and the binding cookie (`name=value`).
pub(crate) async fn start(gw: &Gw) -> (String, String, String) {
    let (page, pre) = signin_page(gw).await;
    let csrf = hidden(&page, "csrf").unwrap();
    let r = gw
        .http
        .post(gw.url("/console/signin/pool"))
        .header(COOKIE, &pre)
        .header(ORIGIN, &gw.base)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookies = set_cookies(&r);
    let binding = cookies
        .iter()
        .find(|c| c.starts_with("poolgate-console-signin="))
        .unwrap_or_else(|| panic!("no binding cookie: {cookies:?}"))
        .clone();
    for attr in ["Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=600"] {
        assert!(binding.contains(attr), "{binding}");
    }
    let body = r.text().await.unwrap();
    let authorize = moves_on_to(&body);
    (
        body,
        authorize,
        binding.split(';').next().unwrap().to_owned(),
    )
}

/// Signs in at the pool through `Corp` (what its button on the hosted page does) and
/// stops at the console's callback: the callback URL with the pool's answer.
pub(crate) async fn run_pool(gw: &Gw, authorize: &str) -> String {
    let callback = gw.url("/console/callback");
    let via_corp = format!("{authorize}&identity_provider=Corp");
    match Browser::new().follow(&via_corp, &callback).await {
        Landing::App(q) => {
            let mut u = url::Url::parse(&callback).unwrap();
            u.query_pairs_mut().extend_pairs(q.iter());
            u.to_string()
        }
        Landing::Page(s, b) => panic!("stopped on a page: {s} {b}"),
    }
}

/// The callback in a browser with `cookie` (or none): status, session cookie set (if
/// any), body.
pub(crate) async fn callback(
    gw: &Gw,
    url: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut req = gw.http.get(url);
    if let Some(c) = cookie {
        req = req.header(COOKIE, c);
    }
    let r = req.send().await.unwrap();
    assert!(
        r.headers().get(LOCATION).is_none(),
        "the callback redirects"
    );
    let cookies = set_cookies(&r);
    if cookie.is_some() {
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("poolgate-console-signin=;") && c.contains("Max-Age=0")),
            "the binding cookie is not removed: {cookies:?}"
        );
    }
    let session = cookie_pair(&cookies, "poolgate-console");
    (r.status(), session, r.text().await.unwrap())
}

/// The users of pool `default`: (username, sub), in the admin API's order.
pub(crate) async fn pool_users(gw: &Gw) -> Vec<(String, String)> {
    let (s, v) = gw.admin("GET", "/pools/default/users", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let text = |k: &str| u[k].as_str().unwrap().to_owned();
            (text("username"), text("sub"))
        })
        .collect()
}

/// A first sign-in through the pool, which makes the user, not a member of the
/// console group: refused with a 403 page and no session. The user: (username, sub).
pub(crate) async fn first_sign_in(gw: &Gw) -> (String, String) {
    let (_, authorize, binding) = start(gw).await;
    let back = run_pool(gw, &authorize).await;
    let (s, session, body) = callback(gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(session.is_none(), "a non-member got a session");
    pool_users(gw).await.remove(0)
}

/// `POST /admin/v1/pools/default/users/{username}/{action}` (disable, enable,
/// sign-out), which must succeed.
async fn user_action(gw: &Gw, username: &str, action: &str) {
    let (s, v) = gw
        .admin(
            "POST",
            &format!("/pools/default/users/{username}/{action}"),
            None,
        )
        .await;
    assert!(s.is_success(), "{action}: {s} {v}");
}

/// A whole member sign-in: the console session's cookie (`name=value`).
pub(crate) async fn member_session(gw: &Gw) -> String {
    let (_, authorize, binding) = start(gw).await;
    let back = run_pool(gw, &authorize).await;
    let (s, session, body) = callback(gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    session.unwrap_or_else(|| panic!("no session: {body}"))
}

async fn get(gw: &Gw, path: &str, cookie: &str) -> reqwest::Response {
    gw.http
        .get(gw.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

async fn assert_signed_out(gw: &Gw, cookie: &str) {
    let r = get(gw, "/console/pools", cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/signin");
}

#[tokio::test]
async fn console_sign_in_through_a_pool() {
    let (gw, fake) = gateway().await;
    let store = gw.running.as_ref().unwrap().store.clone();

    // The sign-in page offers both ways, each form with the pre-session token.
    let (page, pre) = signin_page(&gw).await;
    assert!(page.contains(">Sign in with default</button>"), "{page}");
    assert!(page.contains("action=\"/console/signin/pool\""), "{page}");
    assert!(page.contains("id=\"token\""), "{page}");

    // The start is a form like the others: without its token, or from another
    // site, nothing begins.
    for (origin, csrf) in [(gw.base.as_str(), "forged"), ("https://evil.example", "")] {
        let csrf = if csrf.is_empty() {
            hidden(&page, "csrf").unwrap()
        } else {
            csrf.to_owned()
        };
        let r = gw
            .http
            .post(gw.url("/console/signin/pool"))
            .header(COOKIE, &pre)
            .header(ORIGIN, origin)
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(cookie_pair(&set_cookies(&r), "poolgate-console-signin").is_none());
    }

    // Started: the pool's own authorize endpoint with the console's client, PKCE and
    // a nonce; the client is made in the pool, public, with every provider.
    let (_, authorize, binding) = start(&gw).await;
    let u = url::Url::parse(&authorize).unwrap();
    assert_eq!(u.path(), "/oauth2/authorize");
    assert!(authorize.starts_with(&gw.base));
    let q: std::collections::BTreeMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], "poolgate-console");
    assert_eq!(q["redirect_uri"], gw.url("/console/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 24, "{q:?}");
    let (s, v) = gw
        .admin("GET", "/pools/default/clients/poolgate-console", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["has_secret"], false);
    assert_eq!(v["callback_urls"], json!([gw.url("/console/callback")]));
    assert_eq!(v["supported_identity_providers"], json!(["Corp"]));

    // A user who is not in the group: a 403 page, no session.
    let back = run_pool(&gw, &authorize).await;
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(session.is_none(), "a non-member got a session");
    assert!(body.contains("not an enabled member"), "{body}");
    assert!(body.contains(GROUP), "{body}");
    assert!(!body.contains("eyJ"), "a token is on the page");
    let (username, sub) = pool_users(&gw).await.remove(0);
    assert!(body.contains(&username), "{body}");

    // The same answer again: refused, the state is used.
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(session.is_none());
    assert!(body.contains("already used"), "{body}");

    // In the group now. An answer without this browser's cookie, or with a tampered
    // state, opens nothing; the one untampered answer with the cookie signs in.
    store.add_to_group("default", GROUP, &sub).await.unwrap();
    let (_, authorize, binding) = start(&gw).await;
    let back = run_pool(&gw, &authorize).await;
    let (s, session, _) = callback(&gw, &back, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(session.is_none());
    let (_, authorize, binding2) = start(&gw).await;
    assert_ne!(binding, binding2);
    let back = run_pool(&gw, &authorize).await;
    let (_, _, other_binding) = start(&gw).await;
    let (s, session, _) = callback(&gw, &back, Some(&other_binding)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "another sign-in's cookie");
    assert!(session.is_none());
    let (_, authorize, binding) = start(&gw).await;
    let back = run_pool(&gw, &authorize).await;
    let state = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let last = if state.ends_with('A') { "B" } else { "A" };
    let tampered = back.replace(&state, &format!("{}{last}", &state[..state.len() - 1]));
    assert_ne!(tampered, back);
    let (s, session, body) = callback(&gw, &tampered, Some(&binding)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(session.is_none());
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("<meta http-equiv=\"refresh\" content=\"0; url=/console/pools\">"));
    let session = session.expect("a member gets a session");
    let (s, again, _) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a replayed answer");
    assert!(again.is_none());

    // The console, with the member's name in the header, and its forms work.
    let r = get(&gw, "/console/pools", &session).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert_eq!(
        between(&body, "<strong id=\"signed-in-as\">", "<"),
        username
    );
    let c = Console {
        gw: &gw,
        cookie: session.clone(),
        csrf: hidden(&body, "csrf").unwrap(),
    };
    let r = c
        .post(
            "/console/pools",
            &[("id", "made-by-member"), ("domains", "")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (s, _) = gw.admin("GET", "/pools/made-by-member", None).await;
    assert_eq!(s, StatusCode::OK);
    // The console's client is marked as such on its page.
    let (_, client_page) = c
        .get("/console/pools/default/clients/poolgate-console")
        .await;
    assert!(
        client_page.contains("the console's own client"),
        "{client_page}"
    );

    // Removed from the group: the next request is signed out, and the session is
    // gone for good (adding the user back does not revive it).
    store
        .remove_from_group("default", GROUP, &sub)
        .await
        .unwrap();
    assert_signed_out(&gw, &session).await;
    store.add_to_group("default", GROUP, &sub).await.unwrap();
    assert_signed_out(&gw, &session).await;

    // Disabled: the same; enabled again, a new sign-in works.
    let session = member_session(&gw).await;
    assert_eq!(
        get(&gw, "/console/pools", &session).await.status(),
        StatusCode::OK
    );
    user_action(&gw, &username, "disable").await;
    assert_signed_out(&gw, &session).await;
    user_action(&gw, &username, "enable").await;
    let session = member_session(&gw).await;
    assert_eq!(
        get(&gw, "/console/pools", &session).await.status(),
        StatusCode::OK
    );

    // Signed out everywhere (the pool's tokens revoked): the same. A sign-in right
    // after, within the same second, is not cut off by it.
    user_action(&gw, &username, "sign-out").await;
    assert_signed_out(&gw, &session).await;
    let session = member_session(&gw).await;
    assert_eq!(
        get(&gw, "/console/pools", &session).await.status(),
        StatusCode::OK
    );

    // Sign-out ends the member's session.
    let (_, body) = {
        let r = get(&gw, "/console/pools", &session).await;
        (r.status(), r.text().await.unwrap())
    };
    let csrf = hidden(&body, "csrf").unwrap();
    let r = gw
        .http
        .post(gw.url("/console/signout"))
        .header(COOKIE, &session)
        .header(ORIGIN, &gw.base)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&gw, &session).await;

    // The provider refuses: the page says so, nothing is signed in.
    fake.set(|o| o.deny = true);
    let (_, authorize, binding) = start(&gw).await;
    let back = run_pool(&gw, &authorize).await;
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(session.is_none());
    assert!(body.contains("access_denied"), "{body}");

    // The admin token still signs in, with no name in the header.
    let c = Console::sign_in(&gw).await;
    let (s, body) = c.get("/console/pools").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("signed-in-as"), "{body}");
}

#[tokio::test]
async fn console_pool_sign_in_refuses_a_disabled_member() {
    let (gw, _fake) = gateway().await;
    let store = gw.running.as_ref().unwrap().store.clone();
    // The first sign-in makes the user (not yet a member); then a disabled member.
    let (username, sub) = first_sign_in(&gw).await;
    store.add_to_group("default", GROUP, &sub).await.unwrap();
    let session = member_session(&gw).await;
    user_action(&gw, &username, "disable").await;
    assert_signed_out(&gw, &session).await;
    // A disabled user is refused at the pool's sign-in itself: no code, no session.
    let (_, authorize, binding) = start(&gw).await;
    let back = run_pool(&gw, &authorize).await;
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert!(s.is_client_error(), "{s} {body}");
    assert!(session.is_none(), "{body}");

    // Without the settings, the pool sign-in is not offered and its routes refuse.
    let plain = Gw::start().await;
    let (page, pre) = signin_page(&plain).await;
    assert!(!page.contains("/console/signin/pool"), "{page}");
    let r = plain
        .http
        .post(plain.url("/console/signin/pool"))
        .header(COOKIE, &pre)
        .header(ORIGIN, &plain.base)
        .form(&[("csrf", hidden(&page, "csrf").unwrap().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = plain
        .http
        .get(plain.url("/console/callback?state=x&code=y"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pool_sign_in_with_a_native_password() {
    use crate::native_users::hosted::{csrf_of, post};
    use crate::native_users::{PASSWORD, confirmed_user};

    let (gw, _fake) = gateway().await;
    let store = gw.running.as_ref().unwrap().store.clone();
    confirmed_user(&gw, "root").await;
    let (_, sub) = pool_users(&gw)
        .await
        .into_iter()
        .find(|(username, _)| username == "root")
        .unwrap();
    store.add_to_group("default", GROUP, &sub).await.unwrap();

    // A member with a password: the console's client offers the password form too.
    let (_, authorize, binding) = start(&gw).await;
    let (_, v) = gw
        .admin("GET", "/pools/default/clients/poolgate-console", None)
        .await;
    assert_eq!(
        v["supported_identity_providers"],
        json!(["Corp", "COGNITO"])
    );
    let b = Browser::new();
    let r = b.http.get(&authorize).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let login = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(login.starts_with(&gw.url("/login?")), "{login}");
    let page = b
        .http
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"password\""), "{page}");
    assert!(page.contains("Continue with Corp"), "{page}");
    let r = post(
        &gw,
        &b,
        &[
            ("csrf_token", &csrf_of(&page)),
            ("username", "root"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let back = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(back.starts_with(&gw.url("/console/callback?")), "{back}");
    let (s, session, body) = callback(&gw, &back, Some(&binding)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r = get(&gw, "/console/pools", &session.unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert_eq!(between(&body, "<strong id=\"signed-in-as\">", "<"), "root");
}
