//! Account takeover through linking: a disabled user, a deleted provider re-created
//! under its old name, and look-alike email addresses.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::e2e::{Env, register, setup, sign_in_via, tokens_via};
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{Browser, Landing, claims, json_str};

/// A second OIDC provider `Other` asserting `email` verified for subject `other-77`.
async fn other_provider(env: &Env, email: &str) -> FakeHandle {
    let mut opts = OidcOpts {
        client_id: "rp2".into(),
        ..Default::default()
    };
    opts.user.insert("sub".into(), json!("other-77"));
    opts.user.insert("email".into(), json!(email));
    opts.user.insert("email_verified".into(), json!(true));
    let fake = oidc::start(opts).await;
    register(&env.gw, "Other", &fake, "verified").await;
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

async fn user(env: &Env, username: &str) -> (StatusCode, Value) {
    env.gw
        .admin("GET", &format!("/pools/default/users/{username}"), None)
        .await
}

#[tokio::test]
async fn a_disabled_user_gains_no_identity_through_link_by_email() {
    let env = setup("verified", false).await;
    tokens_via(&env, "Corp", "n").await;
    let (s, _) = env
        .gw
        .admin(
            "POST",
            "/pools/default/users/Corp_user-1/disable",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let _other = other_provider(&env, "ada@example.com").await;
    let (landing, _) = sign_in_via(&env, &Browser::new(), "Other", "n").await;
    match landing {
        Landing::App(q) => {
            assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
            assert!(!q.contains_key("code"));
        }
        other => panic!("expected a redirect to the app: {other:?}"),
    }
    let (_, u) = user(&env, "Corp_user-1").await;
    let ids = u["identities"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "no identity linked meanwhile: {u}");
    assert_eq!(ids[0]["providerName"], "Corp", "{u}");
    // Nor did the refused sign-in create a user of its own.
    assert_eq!(user(&env, "Other_other-77").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_provider_recreated_under_the_same_name_starts_with_no_links() {
    let env = setup("never", false).await;
    let first = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let (s, _) = env
        .gw
        .admin("DELETE", "/pools/default/providers/Corp", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The user stays, without the identity of the deleted provider.
    let (s, u) = user(&env, "Corp_user-1").await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["identities"].as_array().unwrap().len(), 0, "{u}");
    // Another IdP under the old name, whose user happens to have the same subject.
    let mut opts = OidcOpts {
        client_id: "rp-elsewhere".into(),
        ..Default::default()
    };
    opts.user
        .insert("email".into(), json!("mallory@example.net"));
    let elsewhere = oidc::start(opts).await;
    register(&env.gw, "Corp", &elsewhere, "never").await;
    let second = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    assert_ne!(
        first["sub"], second["sub"],
        "the new IdP's user must not land on the old user"
    );
    assert_ne!(second["email"], "ada@example.com");
}

#[tokio::test]
async fn a_look_alike_unicode_address_does_not_link() {
    let env = setup("verified", false).await;
    env.fake
        .set(|o| drop(o.user.insert("email".into(), json!("kim@example.com"))));
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    // U+212A KELVIN SIGN: Unicode lower-casing turns it into `k`.
    let _other = other_provider(&env, "\u{212A}im@example.com").await;
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_ne!(
        a["sub"], b["sub"],
        "a look-alike address took over an account"
    );
    assert_eq!(b["cognito:username"], "Other_other-77");
    // A plain ASCII address differing only in case still links.
    let env = setup("verified", false).await;
    let a = claims(&json_str(&tokens_via(&env, "Corp", "n").await, "id_token"));
    let _other = other_provider(&env, "ADA@Example.COM").await;
    let b = claims(&json_str(&tokens_via(&env, "Other", "n").await, "id_token"));
    assert_eq!(a["sub"], b["sub"]);
}
