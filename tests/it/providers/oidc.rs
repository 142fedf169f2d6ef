//! The generic OIDC adapter against the fake OIDC provider.

use std::sync::Arc;

use poolgate::clock::FixedClock;
use poolgate::provider::{BeginRequest, CallbackParams, ProviderError, registry};
use serde_json::json;

use super::*;
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::fakes::{SignMode, TokenKnobs};
use crate::harness::ptype;

fn details(f: &FakeHandle) -> Value {
    f.details()
}

#[tokio::test]
async fn happy_path_with_discovery_pkce_nonce_and_userinfo() {
    let f = oidc::start(OidcOpts::default()).await;
    f.set(|o| {
        o.userinfo_extra
            .insert("groups".into(), json!(["admins", "staff"]));
    });
    let p = build(ptype("OIDC"), details(&f));
    let q = authorize_query(&p).await;
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["login_hint"], "who@example.com");
    assert!(q["nonce"].len() >= 43);

    let id = sign_in_with(&p, Some("ada@example.com")).await.unwrap();
    assert_eq!(id.subject, "user-1");
    assert_eq!(id.issuer.as_deref(), Some(f.issuer().as_str()));
    assert_eq!(id.email.as_deref(), Some("ada@example.com"));
    assert!(id.email_verified);
    assert_eq!(id.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(id.given_name.as_deref(), Some("Ada"));
    assert_eq!(id.family_name.as_deref(), Some("Lovelace"));
    assert_eq!(id.groups, vec!["admins", "staff"]);
    assert_eq!(id.raw["sub"], "user-1");
    for token_claim in ["nonce", "aud", "at_hash", "exp"] {
        assert!(
            !id.raw.contains_key(token_claim),
            "{token_claim} leaked into raw"
        );
    }
    let seen = f.seen();
    assert_eq!(seen.token_auth, vec!["client_secret_basic"]);
    assert_eq!(seen.userinfo_methods, vec!["GET"]);
    assert_eq!(
        seen.authorize_queries.last().unwrap()["login_hint"],
        "ada@example.com"
    );

    // Discovery and JWKS are cached by the adapter.
    sign_in(&p).await.unwrap();
    let seen = f.seen();
    assert_eq!(seen.discovery_fetches, 1);
    assert_eq!(seen.jwks_fetches, 1);
}

#[tokio::test]
async fn client_secret_post_and_userinfo_post() {
    let f = oidc::start(OidcOpts::default()).await;
    let mut d = details(&f);
    d["token_endpoint_auth_method"] = json!("client_secret_post");
    d["attributes_request_method"] = json!("POST");
    let p = build(ptype("OIDC"), d);
    sign_in(&p).await.unwrap();
    let seen = f.seen();
    assert_eq!(seen.token_auth, vec!["client_secret_post"]);
    assert_eq!(seen.userinfo_methods, vec!["POST"]);
}

#[tokio::test]
async fn explicit_endpoints_skip_discovery() {
    let f = oidc::start(OidcOpts::default()).await;
    let mut d = details(&f);
    d["authorize_url"] = json!(f.url("/authorize"));
    d["token_url"] = json!(f.url("/token"));
    d["userinfo_url"] = json!(f.url("/userinfo"));
    d["jwks_uri"] = json!(f.url("/jwks"));
    let p = build(ptype("OIDC"), d);
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "user-1");
    assert_eq!(f.seen().discovery_fetches, 0);
}

#[tokio::test]
async fn negative_catalogue_each_rejected() {
    let f = oidc::start(OidcOpts::default()).await;
    let p = build(ptype("OIDC"), details(&f));
    sign_in(&p).await.unwrap();
    let now = now();
    let extra = |v: Value| v.as_object().cloned().unwrap();
    let cases: Vec<(&str, &str, TokenKnobs)> = vec![
        (
            "wrong nonce",
            "nonce",
            TokenKnobs {
                nonce: Some("not-the-nonce".into()),
                ..Default::default()
            },
        ),
        (
            "wrong aud",
            "aud does not contain",
            TokenKnobs {
                aud: Some(json!("someone-else")),
                ..Default::default()
            },
        ),
        (
            "several aud, no azp",
            "no azp",
            TokenKnobs {
                aud: Some(json!(["rp-client", "other"])),
                ..Default::default()
            },
        ),
        (
            "wrong azp",
            "azp is not",
            TokenKnobs {
                azp: Some("other".into()),
                ..Default::default()
            },
        ),
        (
            "wrong iss",
            "iss is not",
            TokenKnobs {
                iss: Some("https://evil.example".into()),
                ..Default::default()
            },
        ),
        (
            "expired",
            "expired",
            TokenKnobs {
                exp_offset: -7200,
                ..Default::default()
            },
        ),
        (
            "iat in the future",
            "iat is in the future",
            TokenKnobs {
                iat_offset: 3600,
                ..Default::default()
            },
        ),
        (
            "iat absurdly old",
            "iat is too old",
            TokenKnobs {
                iat_offset: -3 * 24 * 3600,
                ..Default::default()
            },
        ),
        (
            "alg none",
            "alg \"none\"",
            TokenKnobs {
                sign: SignMode::AlgNone,
                ..Default::default()
            },
        ),
        (
            "HS256 keyed with the RSA public key",
            "alg \"HS256\"",
            TokenKnobs {
                sign: SignMode::Hs256WithPublicKey,
                ..Default::default()
            },
        ),
        (
            "unknown key",
            "unknown key",
            TokenKnobs {
                sign: SignMode::UnknownKey,
                ..Default::default()
            },
        ),
        (
            "no sub",
            "sub is missing",
            TokenKnobs {
                remove: vec!["sub".into()],
                ..Default::default()
            },
        ),
        (
            "no exp",
            "no exp",
            TokenKnobs {
                remove: vec!["exp".into()],
                ..Default::default()
            },
        ),
        (
            "wrong at_hash",
            "at_hash",
            TokenKnobs {
                extra: extra(json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"})),
                ..Default::default()
            },
        ),
        (
            "nbf in the future",
            "nbf",
            TokenKnobs {
                extra: extra(json!({"nbf": now + 3600})),
                ..Default::default()
            },
        ),
    ];
    for (what, needle, knobs) in cases {
        f.set(|o| o.token = knobs);
        assert_rejected_because(sign_in(&p).await, what, needle);
    }
    // Several audiences are fine when azp names this client.
    f.set(|o| {
        o.token = TokenKnobs {
            aud: Some(json!(["rp-client", "other"])),
            azp: Some("rp-client".into()),
            ..Default::default()
        }
    });
    sign_in(&p).await.unwrap();
}

#[tokio::test]
async fn only_published_algorithms_are_accepted() {
    let f = oidc::start(OidcOpts {
        algs: Some(vec!["ES256".into()]),
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    assert_rejected(
        sign_in(&p).await,
        "RS256 token while the provider publishes ES256 only",
    );
    // Without the discovery field the default is RS256.
    let f = oidc::start(OidcOpts {
        algs: None,
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    sign_in(&p).await.unwrap();
    // HMAC and none are never accepted, even when discovery lists them.
    let f = oidc::start(OidcOpts {
        algs: Some(vec!["RS256".into(), "HS256".into(), "none".into()]),
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    f.set(|o| o.token.sign = SignMode::Hs256WithPublicKey);
    assert_rejected_because(
        sign_in(&p).await,
        "HS256 listed by discovery",
        "alg \"HS256\"",
    );
    f.set(|o| o.token.sign = SignMode::AlgNone);
    assert_rejected_because(
        sign_in(&p).await,
        "none listed by discovery",
        "alg \"none\"",
    );
}

#[tokio::test]
async fn userinfo_for_another_subject_is_rejected() {
    let f = oidc::start(OidcOpts {
        userinfo_sub: Some("user-2".into()),
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    assert_rejected(sign_in(&p).await, "userinfo sub differs");
}

#[tokio::test]
async fn rfc9207_iss_parameter() {
    let f = oidc::start(OidcOpts::default()).await;
    let p = build(ptype("OIDC"), details(&f));
    f.set(|o| o.callback_iss = Some("https://evil.example".into()));
    assert_rejected(sign_in(&p).await, "callback iss of another issuer");
    let iss = f.issuer();
    f.set(|o| o.callback_iss = Some(iss));
    sign_in(&p).await.unwrap();

    // A provider that advertises the parameter must send it.
    let f = oidc::start(OidcOpts {
        advertise_iss_param: true,
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    assert_rejected(sign_in(&p).await, "advertised iss parameter missing");
    let iss = f.issuer();
    f.set(|o| o.callback_iss = Some(iss));
    sign_in(&p).await.unwrap();
}

#[tokio::test]
async fn access_denied_is_denied_and_other_errors_are_upstream() {
    let f = oidc::start(OidcOpts {
        deny: true,
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Denied)));
    let ru = redirect_uri();
    let begun = p
        .begin(&BeginRequest {
            state: "s",
            redirect_uri: &ru,
            login_hint: None,
            sp_entity_id: None,
        })
        .await
        .unwrap();
    let params = CallbackParams(
        [
            ("error".to_owned(), "temporarily_unavailable".to_owned()),
            ("state".to_owned(), "s".to_owned()),
        ]
        .into(),
    );
    assert!(matches!(
        p.complete(&params, &begun.upstream_state, &ru).await,
        Err(ProviderError::Upstream(_))
    ));
}

#[tokio::test]
async fn tampered_state_and_replayed_code_fail() {
    let f = oidc::start(OidcOpts::default()).await;
    let p = build(ptype("OIDC"), details(&f));
    let ru = redirect_uri();
    let begun = p
        .begin(&BeginRequest {
            state: "state-a",
            redirect_uri: &ru,
            login_hint: None,
            sp_entity_id: None,
        })
        .await
        .unwrap();
    let mut params = browser(&begun.action).await;
    params.0.insert("state".into(), "state-b".into());
    assert_rejected(
        p.complete(&params, &begun.upstream_state, &ru).await,
        "tampered state",
    );
    params.0.insert("state".into(), "state-a".into());
    p.complete(&params, &begun.upstream_state, &ru)
        .await
        .unwrap();
    // The fake consumed the code: a replay fails at the token endpoint with
    // invalid_grant, a refusal of the sign-in (not an outage).
    assert!(matches!(
        p.complete(&params, &begun.upstream_state, &ru).await,
        Err(ProviderError::Rejected(_))
    ));
}

#[tokio::test]
async fn missing_id_token_is_an_upstream_error() {
    let f = oidc::start(OidcOpts {
        omit_id_token: true,
        ..OidcOpts::default()
    })
    .await;
    let p = build(ptype("OIDC"), details(&f));
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Upstream(_))));
}

#[tokio::test]
async fn jwks_is_refetched_on_rotation_at_most_once_per_ten_seconds() {
    let f = oidc::start(OidcOpts::default()).await;
    let clock = FixedClock::at(now() * 1000);
    let ctx = ctx_with_clock(Arc::new(clock.clone()));
    let p = registry::build(&record(ptype("OIDC"), "Upstream", details(&f)), &ctx).unwrap();
    sign_in(&p).await.unwrap();
    assert_eq!(f.seen().jwks_fetches, 1);

    f.rotate_key();
    sign_in(&p)
        .await
        .expect("a rotated key is picked up by one refetch");
    assert_eq!(f.seen().jwks_fetches, 2);

    // A second rotation within 10 s: the refetch is rate-limited, the token refused.
    f.rotate_key();
    assert_rejected(sign_in(&p).await, "unknown kid inside the refetch interval");
    assert_eq!(f.seen().jwks_fetches, 2);

    clock.advance_secs(11);
    sign_in(&p)
        .await
        .expect("after the interval the refetch happens");
    assert_eq!(f.seen().jwks_fetches, 3);
}

#[tokio::test]
async fn oversized_upstream_answers_are_refused() {
    let f = oidc::start(OidcOpts::default()).await;
    f.set(|o| {
        o.userinfo_extra
            .insert("blob".into(), json!("x".repeat(300 * 1024)));
    });
    let p = build(ptype("OIDC"), details(&f));
    match sign_in(&p).await {
        Err(ProviderError::Upstream(m)) => assert!(m.contains("larger than"), "{m}"),
        other => panic!("expected Upstream, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_token_endpoint_times_out() {
    let f = oidc::start(OidcOpts::default()).await;
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let mut d = details(&f);
    d["authorize_url"] = json!(f.url("/authorize"));
    d["token_url"] = json!(format!("http://{addr}/token"));
    d["jwks_uri"] = json!(f.url("/jwks"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_millis(300))
        .build()
        .unwrap();
    let ctx = poolgate::provider::ProviderContext {
        http,
        clock: Arc::new(poolgate::clock::SystemClock),
    };
    let p = registry::build(&record(ptype("OIDC"), "Upstream", d), &ctx).unwrap();
    match sign_in(&p).await {
        Err(ProviderError::Upstream(m)) => assert!(m.contains("timed out"), "{m}"),
        other => panic!("expected Upstream, got {other:?}"),
    }
}

#[tokio::test]
async fn redirects_from_the_token_endpoint_are_not_followed() {
    let f = oidc::start(OidcOpts::default()).await;
    let mut d = details(&f);
    d["authorize_url"] = json!(f.url("/authorize"));
    // 307 to the real token endpoint: followed, it would succeed.
    d["token_url"] = json!(f.url("/moved-token"));
    d["jwks_uri"] = json!(f.url("/jwks"));
    let p = build(ptype("OIDC"), d);
    match sign_in(&p).await {
        Err(ProviderError::Upstream(m)) => assert!(m.contains("status 307"), "{m}"),
        other => panic!("expected Upstream, got {other:?}"),
    }
}

#[tokio::test]
async fn a_host_only_issuer_matches_with_or_without_trailing_slash() {
    let f = oidc::start(OidcOpts::default()).await;
    let p = build(ptype("OIDC"), details(&f));
    let slash = format!("{}/", f.issuer());
    f.set(|o| o.token.iss = Some(slash));
    sign_in(&p).await.unwrap();
    let other_path = format!("{}/tenant", f.issuer());
    f.set(|o| o.token.iss = Some(other_path));
    assert_rejected_because(sign_in(&p).await, "issuer with another path", "iss is not");
}
