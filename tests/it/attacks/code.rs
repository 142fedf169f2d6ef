//! `/oauth2/token` with authorization codes: single use (a replay revokes what the first
//! exchange issued), PKCE, and the binding to client and redirect URI.

use super::*;

#[tokio::test]
async fn code_used_twice_fails_and_revokes_the_first_tokens() {
    let env = Env::start(true).await;
    let (code, verifier) = env.code().await;
    let (s, first) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    // The first tokens work before the replay.
    let at = json_str(&first, "access_token");
    assert_eq!(env.introspect(&at).await["active"], true);
    assert_eq!(env.userinfo(&at).await.0, StatusCode::OK);

    let (s, second) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{second}");
    assert_eq!(second["error"], "invalid_grant");
    assert_no_token(&second);
    env.assert_revoked(&first).await;

    // A third attempt is refused the same way.
    let (s, third) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_no_token(&third);
}

#[tokio::test]
async fn code_reuse_also_kills_tokens_refreshed_from_the_first_exchange() {
    let env = Env::start(true).await;
    let (code, verifier) = env.code().await;
    let (_, first) = env.exchange(&code, &verifier).await;
    let (s, refreshed) = env.refresh(&json_str(&first, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    let (s, _) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    env.assert_revoked(&refreshed).await;
}

#[tokio::test]
async fn wrong_or_missing_pkce_verifier_is_invalid_grant() {
    let env = Env::start(false).await;
    let (other_verifier, _) = pkce();
    let cases = [Some(other_verifier.as_str()), None, Some(""), Some("short")];
    for verifier in cases {
        let (code, good) = env.code().await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        let (s, v) = env.token(&form).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{verifier:?}: {v}");
        assert_eq!(v["error"], "invalid_grant", "{verifier:?}");
        assert_no_token(&v);
        // A failed attempt burns the code: the right verifier is too late now.
        let (s, v) = env.exchange(&code, &good).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_no_token(&v);
    }
    // The upper-case variant of a valid verifier is a different verifier.
    let (code, good) = env.code().await;
    let (s, v) = env.exchange(&code, &good.to_uppercase()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_no_token(&v);
}

#[tokio::test]
async fn code_is_bound_to_its_client() {
    let env = Env::start(true).await;
    let (other_id, other_secret) = env.gw.client(app_client_body(APP, &[IDP], true)).await;
    let other_secret = other_secret.unwrap();
    let (code, verifier) = env.code().await;
    let (s, v) = env
        .gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP),
                ("code_verifier", &verifier),
            ],
            Some((&other_id, &other_secret)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_grant");
    assert_no_token(&v);

    // The right client with a wrong secret: invalid_client, nothing issued.
    let (code, verifier) = env.code().await;
    let (s, v) = env
        .gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP),
                ("code_verifier", &verifier),
            ],
            Some((&env.client_id, "wrong-secret")),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["error"], "invalid_client");
    assert_no_token(&v);
    // Without any credentials.
    let (s, v) = env
        .gw
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", APP),
                ("code_verifier", &verifier),
                ("client_id", &env.client_id),
            ],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_no_token(&v);
}

#[tokio::test]
async fn code_is_bound_to_its_redirect_uri() {
    let env = Env::start(true).await;
    // A second registered callback of the same client is still a different redirect.
    let (s, v) = env
        .gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client_id),
            Some(json!({"callback_urls": [APP, "http://127.0.0.1:9/other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for redirect in [
        Some("http://127.0.0.1:9/other"),
        Some("http://127.0.0.1:9/cb/"),
        None,
    ] {
        let (code, verifier) = env.code().await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(r) = redirect {
            form.push(("redirect_uri", r));
        }
        let (s, v) = env.token(&form).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{redirect:?}: {v}");
        assert_eq!(v["error"], "invalid_grant");
        assert_no_token(&v);
    }
}

#[tokio::test]
async fn forged_and_foreign_codes_are_invalid_grant() {
    let env = Env::start(true).await;
    let (_, verifier) = pkce();
    let long = "c".repeat(5000);
    for code in ["", "not-a-code", long.as_str(), "%00", "' OR 1=1 --"] {
        let (s, v) = env.exchange(code, &verifier).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{code}: {v}");
        assert_eq!(v["error"], "invalid_grant");
        assert_no_token(&v);
    }
    // A code of another gateway (another store) is unknown here.
    let other = Env::start(true).await;
    let (code, verifier) = other.code().await;
    let (s, v) = env.exchange(&code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_no_token(&v);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_code_replay_still_revokes_what_was_issued() {
    // Two exchanges of one code in flight at once (the attacker racing the app): at most
    // one gets tokens, and those are revoked by the other. Repeated, since the
    // interleaving differs from one round to the next.
    let env = Env::start(true).await;
    for round in 0..12 {
        let (code, verifier) = env.code().await;
        let (a, b) = tokio::join!(
            env.exchange(&code, &verifier),
            env.exchange(&code, &verifier)
        );
        let issued: Vec<&Value> = [&a, &b]
            .into_iter()
            .filter(|(s, _)| *s == StatusCode::OK)
            .map(|(_, v)| v)
            .collect();
        assert!(
            issued.len() <= 1,
            "round {round}: both exchanges got tokens"
        );
        for (s, v) in [&a, &b] {
            if *s != StatusCode::OK {
                assert_eq!(*s, StatusCode::BAD_REQUEST, "round {round}: {v}");
                assert_eq!(v["error"], "invalid_grant");
                assert_no_token(v);
            }
        }
        if let Some(t) = issued.first() {
            env.assert_revoked(t).await;
        }
    }
}
