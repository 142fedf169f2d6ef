//! `/oauth2/authorize` refusals: an unknown client or an unregistered `redirect_uri`
//! gets an error page (never a redirect); other errors go back to the app with `state`.

use super::*;
use crate::harness::authorize_url;

#[tokio::test]
async fn unknown_or_missing_client_gets_an_error_page() {
    let env = Env::start(true).await;
    let b = Browser::new();
    for client in ["no-such-client", "", &"x".repeat(300)] {
        let url = authorize_url(
            &env.gw,
            client,
            APP,
            &[("identity_provider", IDP), ("state", "s1")],
        );
        assert_error_page(&hop(&b, &url).await);
    }
    // No client_id at all.
    let url = env.gw.url(&format!(
        "/oauth2/authorize?response_type=code&redirect_uri={}&state=s1",
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>()
    ));
    assert_error_page(&hop(&b, &url).await);
    // Nothing reached the upstream.
    assert!(env.fake.seen().authorize_queries.is_empty());
}

#[tokio::test]
async fn unregistered_redirect_uri_gets_an_error_page() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let variants = [
        "http://127.0.0.1:9/cb/",             // suffix
        "http://127.0.0.1:9/cbx",             // suffix
        "http://127.0.0.1:9/c",               // prefix
        "http://127.0.0.1:9/",                // prefix
        "http://127.0.0.1:9/cb?x=1",          // extra query
        "http://127.0.0.1:9/cb#frag",         // fragment
        "http://127.0.0.1:90/cb",             // other port
        "http://127.0.0.1:9/CB",              // case
        "https://127.0.0.1:9/cb",             // scheme
        "http://127.0.0.1:9/cb/../cb",        // dot segments
        "http://127.0.0.1:9@evil.example/cb", // userinfo trick
        "http://evil.example/?http://127.0.0.1:9/cb",
        "",
    ];
    for r in variants {
        let url = authorize_url(
            &env.gw,
            &env.client_id,
            r,
            &[("identity_provider", IDP), ("state", "s1")],
        );
        let h = hop(&b, &url).await;
        assert_error_page(&h);
    }
    // Missing redirect_uri.
    let url = env.gw.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&identity_provider={IDP}",
        env.client_id
    ));
    assert_error_page(&hop(&b, &url).await);
    assert!(env.fake.seen().authorize_queries.is_empty());
}

#[tokio::test]
async fn public_client_without_pkce_is_sent_back_with_invalid_request() {
    let env = Env::start(false).await;
    let b = Browser::new();
    let (_, challenge) = pkce();
    let cases: Vec<Vec<(&str, &str)>> = vec![
        // no code_challenge at all
        vec![],
        // plain is refused (S256 only)
        vec![
            ("code_challenge", &challenge),
            ("code_challenge_method", "plain"),
        ],
        // method missing
        vec![("code_challenge", &challenge)],
        // malformed challenge
        vec![
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
    ];
    for extra in cases {
        let mut params = vec![("identity_provider", IDP), ("state", "st-9")];
        params.extend(extra.iter().copied());
        let url = authorize_url(&env.gw, &env.client_id, APP, &params);
        let h = hop(&b, &url).await;
        assert!(h.status.is_redirection(), "{h:?}");
        let loc = h
            .location
            .clone()
            .unwrap_or_else(|| panic!("no redirect: {h:?}"));
        assert!(loc.starts_with(APP), "{loc}");
        let q = query(&loc);
        assert_eq!(q["error"], "invalid_request", "{extra:?} {q:?}");
        assert_eq!(q["state"], "st-9");
        assert!(!q.contains_key("code"));
    }
    assert!(env.fake.seen().authorize_queries.is_empty());
}

#[tokio::test]
async fn other_authorize_errors_redirect_back_with_state() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("scope", "openid admin:all")], "invalid_scope"),
        (&[("identity_provider", "NotThere")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
    ];
    for (extra, want) in cases {
        let mut u = Url::parse(&env.gw.url("/oauth2/authorize")).unwrap();
        {
            let mut q = u.query_pairs_mut();
            if !extra.iter().any(|(k, _)| *k == "response_type") {
                q.append_pair("response_type", "code");
            }
            q.append_pair("client_id", &env.client_id);
            q.append_pair("redirect_uri", APP);
            q.append_pair("state", "st-2");
            if !extra.iter().any(|(k, _)| *k == "identity_provider") {
                q.append_pair("identity_provider", IDP);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        let h = hop(&b, u.as_str()).await;
        let loc = h
            .location
            .clone()
            .unwrap_or_else(|| panic!("no redirect: {h:?}"));
        assert!(loc.starts_with(APP), "{loc}");
        let q = query(&loc);
        assert_eq!(q["error"], want, "{q:?}");
        assert_eq!(q["state"], "st-2");
        assert!(q.contains_key("error_description"));
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn repeated_authorize_parameters_are_refused_without_redirect_to_either() {
    let env = Env::start(true).await;
    let b = Browser::new();
    // Two redirect_uri values: never redirect to either.
    let mut u = Url::parse(&authorize_url(
        &env.gw,
        &env.client_id,
        APP,
        &[("identity_provider", IDP), ("state", "s")],
    ))
    .unwrap();
    u.query_pairs_mut()
        .append_pair("redirect_uri", "http://evil.example/cb");
    let h = hop(&b, u.as_str()).await;
    assert!(h.status.is_client_error(), "{h:?}");
    assert!(h.location.is_none(), "{h:?}");
    // Invalid UTF-8 in the query.
    let raw = format!(
        "{}&state=%FF%FE",
        authorize_url(&env.gw, &env.client_id, APP, &[("identity_provider", IDP)])
    );
    let h = hop(&b, &raw).await;
    assert!(!h.status.is_server_error(), "{h:?}");
    if let Some(loc) = &h.location {
        assert!(!query(loc).contains_key("code"));
    }
}

#[tokio::test]
async fn hostile_state_is_carried_verbatim_and_never_interpreted() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let evil = "x\r\nSet-Cookie: evil=1\r\n\"><script>alert(1)</script>";
    // An error redirect carries the state back encoded, adds no header.
    let url = authorize_url(
        &env.gw,
        &env.client_id,
        APP,
        &[
            ("identity_provider", IDP),
            ("state", evil),
            ("scope", "nope"),
        ],
    );
    let r = b.http.get(&url).send().await.unwrap();
    assert!(r.status().is_redirection());
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().contains("evil"))
    );
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(!loc.contains('\r') && !loc.contains('<'), "{loc}");
    assert_eq!(query(&loc)["state"], evil);
    // The hosted sign-in page escapes what it echoes.
    let url = authorize_url(
        &env.gw,
        &env.client_id,
        APP,
        &[("state", evil), ("login_hint", evil)],
    );
    let l = b.follow(&url, APP).await;
    if let Landing::Page(_, body) = l {
        assert!(!body.contains("<script>"), "{body}");
    }
    let login = env.gw.url(&format!(
        "/login?client_id={}&redirect_uri={}&response_type=code&state={}",
        env.client_id,
        url::form_urlencoded::byte_serialize(APP.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>(),
    ));
    let h = hop(&b, &login).await;
    assert!(!h.status.is_server_error(), "{h:?}");
    assert!(!h.body.contains("<script>"), "{}", h.body);
    // The login page with an unknown client or redirect is an error page too.
    let h = hop(
        &b,
        &env.gw
            .url("/login?client_id=nope&redirect_uri=http://evil.example/&response_type=code"),
    )
    .await;
    assert_error_page(&h);
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_uri() {
    let env = Env::start(true).await;
    let b = Browser::new();
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    for q in [
        format!(
            "client_id={}&logout_uri={}",
            env.client_id,
            enc("http://evil.example/bye")
        ),
        format!(
            "client_id={}&logout_uri={}",
            env.client_id,
            enc("http://127.0.0.1:9/bye/x")
        ),
        format!(
            "client_id=nope&logout_uri={}",
            enc("http://127.0.0.1:9/bye")
        ),
        format!(
            "client_id={}&redirect_uri={}&response_type=code",
            env.client_id,
            enc("http://evil.example/cb")
        ),
        format!("client_id={}", env.client_id),
        String::new(),
    ] {
        let h = hop(&b, &env.gw.url(&format!("/logout?{q}"))).await;
        assert_error_page(&h);
    }
    // The registered one works.
    let h = hop(
        &b,
        &env.gw.url(&format!(
            "/logout?client_id={}&logout_uri={}",
            env.client_id,
            enc("http://127.0.0.1:9/bye")
        )),
    )
    .await;
    assert_eq!(
        h.location.as_deref(),
        Some("http://127.0.0.1:9/bye"),
        "{h:?}"
    );
}
