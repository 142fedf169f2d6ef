//! `/oauth2/idpresponse` refusals: tampered or replayed `state`, a callback delivered to
//! another browser (login CSRF), and the upstream saying no.

use super::*;

/// Walks `b` from the app to the upstream and back to poolgate's callback, which is
/// NOT requested: returns its URL.
async fn callback_url(env: &Env, b: &Browser, app_state: &str) -> String {
    let (url, _) = env.authorize(app_state);
    let h = hop(b, &url).await;
    let to_idp = h.location.unwrap_or_else(|| panic!("no redirect upstream"));
    assert!(to_idp.starts_with(&env.fake.issuer()), "{to_idp}");
    let h = hop(b, &to_idp).await;
    let cb = h
        .location
        .unwrap_or_else(|| panic!("the fake did not redirect back"));
    assert!(cb.starts_with(&env.gw.url("/oauth2/idpresponse")), "{cb}");
    cb
}

fn with_param(url: &str, key: &str, value: Option<&str>) -> String {
    let mut u = Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    {
        let mut q = u.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            q.append_pair(k, v);
        }
        if let Some(v) = value {
            q.append_pair(key, v);
        }
    }
    u.to_string()
}

#[tokio::test]
async fn tampered_state_is_refused() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let cb = callback_url(&env, &b, "app-1").await;
    let state = query(&cb)["state"].clone();
    let long = "s".repeat(4000);
    let mut flipped = state.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        Some(flipped.as_str()),
        Some(&format!("{state}x")),
        Some(&state[..state.len() - 1]),
        Some(""),
        Some(long.as_str()),
        None,
    ] {
        let h = hop(&b, &with_param(&cb, "state", bad)).await;
        assert_error_page(&h);
    }
    // Two state parameters: refused, not a pick of either.
    let mut two = Url::parse(&cb).unwrap();
    two.query_pairs_mut().append_pair("state", "other");
    let h = hop(&b, two.as_str()).await;
    assert!(h.status.is_client_error(), "{h:?}");
    assert!(
        h.location
            .as_deref()
            .is_none_or(|l| !query(l).contains_key("code"))
    );
    assert_eq!(env.user_count().await, 0);
}

#[tokio::test]
async fn replayed_callback_is_refused() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let cb = callback_url(&env, &b, "app-1").await;
    let first = hop(&b, &cb).await;
    let loc = first.location.clone().unwrap();
    assert!(query(&loc).contains_key("code"), "{first:?}");
    // The same callback again, in the same browser: the sign-in is consumed.
    let again = hop(&b, &cb).await;
    assert_error_page(&again);
    // And in a fresh browser.
    let again = hop(&Browser::new(), &cb).await;
    assert_error_page(&again);
}

#[tokio::test]
async fn callback_in_another_browser_is_refused() {
    let env = Env::start(true).await;
    let victim = Browser::new();
    let attacker = Browser::new();
    // The attacker begins a sign-in and lures the victim into finishing it.
    let cb = callback_url(&env, &attacker, "attacker-state").await;
    let h = hop(&victim, &cb).await;
    assert_error_page(&h);
    assert!(!h.body.contains("attacker-state"));
    // Also with form_post.
    let cb2 = callback_url(&env, &attacker, "attacker-state-2").await;
    let form: Vec<(String, String)> = Url::parse(&cb2)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let r = victim
        .http
        .post(env.gw.url("/oauth2/idpresponse"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.headers().get("location").is_none());
    assert_eq!(env.user_count().await, 0);
}

#[tokio::test]
async fn callback_with_a_forged_binding_cookie_is_refused() {
    let env = Env::start(true).await;
    // The attacker's own client: it sees the binding cookie's name, not the victim's value.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (url, _) = env.authorize("s");
    let r = plain.get(&url).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let name = set.split('=').next().unwrap().to_owned();
    let to_idp = r.headers()["location"].to_str().unwrap().to_owned();
    let r = plain.get(&to_idp).send().await.unwrap();
    let cb = r.headers()["location"].to_str().unwrap().to_owned();
    let r = plain
        .get(&cb)
        .header("cookie", format!("{name}=guessed-value"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(r.headers().get("location").is_none());
    assert_eq!(env.user_count().await, 0);
}

#[tokio::test]
async fn upstream_denial_goes_back_to_the_app_with_its_state() {
    let env = Env::start(true).await;
    env.fake.set(|o| o.deny = true);
    let (url, _) = env.authorize("app-state-denied");
    let l = Browser::new().follow(&url, APP).await;
    assert_app_error(&l, "access_denied", "app-state-denied");
    assert_eq!(env.user_count().await, 0);

    // An upstream error with a forged state never reaches the app.
    let h = hop(
        &Browser::new(),
        &env.gw
            .url("/oauth2/idpresponse?error=access_denied&state=forged"),
    )
    .await;
    assert_error_page(&h);
}

#[tokio::test]
async fn callback_refused_elsewhere_burns_the_sign_in() {
    // The victim's own callback, seen by an attacker who replays it first in another
    // browser: the attacker gets nothing, and no code is issued to anyone.
    let env = Env::start(true).await;
    let victim = Browser::new();
    let cb = callback_url(&env, &victim, "v").await;
    let h = hop(&Browser::new(), &cb).await;
    assert_error_page(&h);
    let h = hop(&victim, &cb).await;
    assert!(h.status.is_client_error(), "{h:?}");
    assert!(h.location.is_none());
}

#[tokio::test]
async fn a_sign_in_cut_by_a_restart_is_refused_and_the_next_one_works() {
    // SQLite keeps sign-ins in progress in the process's memory: a callback that
    // arrives after a restart finds nothing, gets a clear page and no code, and
    // starting again works.
    let mut env = Env::start(true).await;
    let b = Browser::new();
    let cb = callback_url(&env, &b, "before").await;
    env.gw.restart().await;
    let h = hop(&b, &cb).await;
    assert_error_page(&h);
    assert!(!h.status.is_server_error(), "{h:?}");
    assert_eq!(env.user_count().await, 0);

    let cb = callback_url(&env, &b, "after").await;
    let h = hop(&b, &cb).await;
    let landing = h.location.expect("redirect to the app");
    let q = query(&landing);
    assert_eq!(q["state"], "after");
    assert!(q.contains_key("code"), "{landing}");
}
