//! Identity linking (interface.md section 6) and durability across a restart.

use reqwest::StatusCode;
use serde_json::json;

use crate::e2e::{Env, exchange, introspect, refresh, register, setup, sign_in_via, tokens_via};
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::{Browser, claims, json_str};

/// Adds a second OIDC provider `Other` to the pool and the client; same user email.
async fn second_provider(
    env: &Env,
    link: &str,
    email_verified: bool,
) -> crate::fakes::oidc::FakeHandle {
    let mut opts = OidcOpts {
        client_id: "rp2".into(),
        ..Default::default()
    };
    opts.user.insert("sub".into(), json!("other-77"));
    opts.user.insert("email".into(), json!("ADA@example.com"));
    opts.user
        .insert("email_verified".into(), json!(email_verified));
    let fake = oidc::start(opts).await;
    register(&env.gw, "Other", &fake, link).await;
    let (s, v) = env
        .gw
        .admin(
            "PATCH",
            &format!("/pools/default/clients/{}", env.client),
            Some(json!({"supported_identity_providers": ["Corp", "Other"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    fake
}

#[tokio::test]
async fn verified_email_links_case_insensitively() {
    let env = setup("verified", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let _other = second_provider(&env, "verified", true).await;
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_eq!(a["sub"], b["sub"], "one pool user");
    let ids = b["identities"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    let names: Vec<_> = ids
        .iter()
        .map(|i| i["providerName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Corp") && names.contains(&"Other"));
}

#[tokio::test]
async fn policy_never_does_not_link() {
    let env = setup("never", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let _other = second_provider(&env, "never", true).await;
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_ne!(a["sub"], b["sub"]);
    assert_eq!(b["cognito:username"], "Other_other-77");
}

#[tokio::test]
async fn unverified_email_never_links() {
    let env = setup("verified", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let _other = second_provider(&env, "verified", false).await;
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_ne!(
        a["sub"], b["sub"],
        "an unverified email must not take over an account"
    );
    assert_eq!(b["email_verified"], false);
}

#[tokio::test]
async fn admin_link_merges_and_the_sixth_link_is_refused() {
    let env = setup("never", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let other = second_provider(&env, "never", true).await;
    // Link Other/other-77 to the existing user: the next sign-in through Other is that user.
    let (s, v) = env
        .gw
        .admin(
            "POST",
            "/pools/default/users/Corp_user-1/identities",
            Some(json!({"provider": "Other", "subject": "other-77"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_eq!(a["sub"], b["sub"]);
    drop(other);
    // Links 3, 4, 5 succeed; the 6th is refused with a clear error.
    for i in 0..3 {
        let (s, v) = env
            .gw
            .admin(
                "POST",
                "/pools/default/users/Corp_user-1/identities",
                Some(json!({"provider": "Other", "subject": format!("extra-{i}")})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, v) = env
        .gw
        .admin(
            "POST",
            "/pools/default/users/Corp_user-1/identities",
            Some(json!({"provider": "Other", "subject": "extra-9"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert!(v["message"].as_str().unwrap().contains('5'), "{v}");
    let (_, u) = env
        .gw
        .admin("GET", "/pools/default/users/Corp_user-1", None)
        .await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn restart_keeps_everything() {
    let mut env = setup("never", true).await;
    let t = tokens_via(&env, "Corp", "n").await;
    let jwks_before = env.gw.jwks().await;
    let sub = claims(&json_str(&t, "id_token"))["sub"].clone();
    env.gw.restart().await;

    assert_eq!(env.gw.jwks().await, jwks_before, "keys survive");
    let (s, c) = env
        .gw
        .admin(
            "GET",
            &format!("/pools/default/clients/{}", env.client),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (s, _) = env
        .gw
        .admin("GET", "/pools/default/providers/Corp", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, u) = env
        .gw
        .admin("GET", "/pools/default/users/Corp_user-1", None)
        .await;
    assert_eq!(u["sub"], sub);
    assert_eq!(u["identities"].as_array().unwrap().len(), 1);
    // The refresh token issued before the restart still works, and the access token
    // issued before it is still valid.
    assert_eq!(
        introspect(&env, &json_str(&t, "access_token")).await["active"],
        true
    );
    let (s, v) = refresh(&env, &json_str(&t, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // And a new sign-in finds the same user.
    let again = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_eq!(again["sub"], sub);
}

#[tokio::test]
async fn code_is_single_use_within_a_working_flow() {
    let env = setup("never", false).await;
    let (landing, verifier) = sign_in_via(&env, &Browser::new(), "Corp", "n").await;
    let code = landing.code();
    assert_eq!(exchange(&env, &code, &verifier).await.0, StatusCode::OK);
    let (s, e) = exchange(&env, &code, &verifier).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"], "invalid_grant");
}
