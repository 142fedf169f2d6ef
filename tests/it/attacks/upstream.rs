//! A lying or broken upstream: every id_token that fails verification sends the app
//! `error=access_denied` with its state, and no code and no user come of it.

use super::*;
use crate::fakes::{SignMode, TokenKnobs};

/// Signs in once with the fake set by `f`; asserts the app gets access_denied with its
/// state and that nothing was created; then resets the fake.
async fn refused(env: &Env, case: &str, f: impl FnOnce(&mut OidcOpts)) {
    env.fake.set(f);
    let state = format!("state-{case}");
    let (url, _) = env.authorize(&state);
    let l = Browser::new().follow(&url, APP).await;
    match &l {
        Landing::App(q) => {
            assert!(!q.contains_key("code"), "{case}: a code was issued: {q:?}");
            assert_eq!(
                q.get("error").map(String::as_str),
                Some("access_denied"),
                "{case}: {q:?}"
            );
            assert_eq!(q.get("state"), Some(&state), "{case}: {q:?}");
        }
        Landing::Page(s, b) => panic!("{case}: stopped on a page {s}: {b}"),
    }
    assert_eq!(env.user_count().await, 0, "{case}: a user was created");
    env.fake.set(|o| *o = OidcOpts::default());
}

fn knobs(k: TokenKnobs) -> impl FnOnce(&mut OidcOpts) {
    move |o| o.token = k
}

#[tokio::test]
async fn forged_or_invalid_upstream_id_tokens_are_access_denied() {
    let env = Env::start(true).await;
    let t = TokenKnobs::default;
    refused(
        &env,
        "nonce",
        knobs(TokenKnobs {
            nonce: Some("attacker-nonce".into()),
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "no-nonce",
        knobs(TokenKnobs {
            remove: vec!["nonce".into()],
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "aud",
        knobs(TokenKnobs {
            aud: Some(json!("someone-else")),
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "aud-list",
        knobs(TokenKnobs {
            aud: Some(json!(["someone-else", "x"])),
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "azp",
        knobs(TokenKnobs {
            aud: Some(json!(["rp-client", "other"])),
            azp: Some("other".into()),
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "iss",
        knobs(TokenKnobs {
            iss: Some("http://127.0.0.1:1/evil".into()),
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "expired",
        knobs(TokenKnobs {
            exp_offset: -7200,
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "iat-future",
        knobs(TokenKnobs {
            iat_offset: 3600,
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "no-exp",
        knobs(TokenKnobs {
            remove: vec!["exp".into()],
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "no-sub",
        knobs(TokenKnobs {
            remove: vec!["sub".into()],
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "alg-none",
        knobs(TokenKnobs {
            sign: SignMode::AlgNone,
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "hs256-pubkey",
        knobs(TokenKnobs {
            sign: SignMode::Hs256WithPublicKey,
            ..t()
        }),
    )
    .await;
    refused(
        &env,
        "unknown-key",
        knobs(TokenKnobs {
            sign: SignMode::UnknownKey,
            ..t()
        }),
    )
    .await;

    // The control: the same fake, untouched, signs in fine.
    let (url, _) = env.authorize("ok");
    let l = Browser::new().follow(&url, APP).await;
    assert!(
        matches!(&l, Landing::App(q) if q.contains_key("code")),
        "{l:?}"
    );
    assert_eq!(env.user_count().await, 1);
}

#[tokio::test]
async fn hs256_is_refused_even_when_the_provider_publishes_it() {
    // A provider that lists HS256 among its algorithms still cannot make poolgate verify
    // an HMAC keyed with its public RSA key.
    let env = Env::start_with(
        OidcOpts {
            algs: Some(vec!["RS256".into(), "HS256".into(), "none".into()]),
            ..OidcOpts::default()
        },
        true,
    )
    .await;
    let keep =
        |o: &mut OidcOpts| o.algs = Some(vec!["RS256".into(), "HS256".into(), "none".into()]);
    env.fake.set(|o| {
        keep(o);
        o.token.sign = SignMode::Hs256WithPublicKey;
    });
    let (url, _) = env.authorize("hs");
    assert_app_error(
        &Browser::new().follow(&url, APP).await,
        "access_denied",
        "hs",
    );
    env.fake.set(|o| {
        keep(o);
        o.token.sign = SignMode::AlgNone;
    });
    let (url, _) = env.authorize("none");
    assert_app_error(
        &Browser::new().follow(&url, APP).await,
        "access_denied",
        "none",
    );
    assert_eq!(env.user_count().await, 0);
}

#[tokio::test]
async fn other_upstream_lies_are_access_denied() {
    let env = Env::start(true).await;
    // RFC 9207: the callback names another issuer (mix-up attack).
    refused(&env, "callback-iss", |o| {
        o.callback_iss = Some("http://127.0.0.1:1/evil".into());
        o.advertise_iss_param = true;
    })
    .await;
    // userinfo answers for another subject (OIDC Core 5.3.2).
    refused(&env, "userinfo-sub", |o| {
        o.userinfo_sub = Some("someone-else".into())
    })
    .await;
    // No id_token at all from an OpenID Connect provider.
    refused(&env, "no-id-token", |o| o.omit_id_token = true).await;
}

#[tokio::test]
async fn a_forged_upstream_code_is_access_denied() {
    // The right state (from our own browser) with a code the upstream never issued.
    let env = Env::start(true).await;
    let b = Browser::new();
    let (url, _) = env.authorize("forged-code");
    let to_idp = hop(&b, &url).await.location.unwrap();
    let cb = hop(&b, &to_idp).await.location.unwrap();
    let mut u = Url::parse(&cb).unwrap();
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    u.query_pairs_mut().clear();
    for (k, v) in pairs {
        let v = if k == "code" { "forged".to_owned() } else { v };
        u.query_pairs_mut().append_pair(&k, &v);
    }
    let l = b.follow(u.as_str(), APP).await;
    assert_app_error(&l, "access_denied", "forged-code");
    assert_eq!(env.user_count().await, 0);
}
