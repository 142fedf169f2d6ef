//! The Sign in with Apple adapter against the fake Apple (which verifies the client
//! secret JWT).

use std::sync::Arc;

use poolgate::clock::FixedClock;
use poolgate::provider::{ProviderError, registry};
use serde_json::json;

use super::*;
use crate::fakes::apple::{self, AppleOpts, FakeHandle};
use crate::fakes::jwt;
use crate::harness::ptype;

async fn setup() -> (FakeHandle, Value) {
    let (o, pem) = AppleOpts::generate();
    let f = apple::start(o).await;
    let d = f.details(&pem);
    (f, d)
}

#[tokio::test]
async fn first_sign_in_carries_the_name_later_ones_do_not() {
    let (f, d) = setup().await;
    let p = build(ptype("SignInWithApple"), d);
    let ru = redirect_uri();
    let begun = p
        .begin(&poolgate::provider::BeginRequest {
            state: "s",
            redirect_uri: &ru,
            login_hint: None,
            sp_entity_id: None,
        })
        .await
        .unwrap();
    let poolgate::provider::BrowserAction::Redirect(u) = begun.action else {
        panic!()
    };
    assert!(u.query().unwrap().contains("scope=name%20email"), "{u}");
    let q = authorize_query(&p).await;
    assert_eq!(q["response_mode"], "form_post");
    assert_eq!(q["scope"], "name email");
    assert!(q.contains_key("nonce"));

    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "001234.abcdef0123456789.1234");
    assert_eq!(id.issuer.as_deref(), Some(f.issuer().as_str()));
    assert_eq!(id.given_name.as_deref(), Some("Katherine"));
    assert_eq!(id.family_name.as_deref(), Some("Johnson"));
    assert_eq!(id.name.as_deref(), Some("Katherine Johnson"));
    assert_eq!(id.raw["firstName"], "Katherine");
    assert_eq!(id.raw["lastName"], "Johnson");
    assert_eq!(id.email.as_deref(), Some("kq9x@privaterelay.appleid.com"));
    assert!(
        id.email_verified,
        "email_verified \"true\" (string) is verified"
    );
    assert_eq!(id.raw["is_private_email"], json!(true));
    assert_eq!(id.raw["email_verified"], json!(true));

    let again = sign_in(&p).await.unwrap();
    assert_eq!(again.subject, id.subject);
    assert_eq!(again.name, None);
    assert!(!again.raw.contains_key("firstName"));
    assert!(again.email_verified);

    let seen = f.seen();
    assert_eq!(seen.accepted_secrets, 2);
    assert!(seen.refused_secrets.is_empty());
    assert_eq!(
        seen.secrets[0], seen.secrets[1],
        "the client secret is cached"
    );
    let (header, claims) = jwt::decode_unverified(&seen.secrets[0]).unwrap();
    assert_eq!(header["kid"], "KEY1234567");
    assert_eq!(claims["aud"], f.issuer());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 15_777_000);
}

#[tokio::test]
async fn boolean_email_verified_is_verified_too() {
    let (f, d) = setup().await;
    f.set(|o| o.bools_as_strings = false);
    let p = build(ptype("SignInWithApple"), d);
    let id = sign_in(&p).await.unwrap();
    assert!(id.email_verified);
    assert_eq!(id.raw["is_private_email"], json!(true));

    f.set(|o| {
        o.token
            .extra
            .insert("email_verified".into(), json!("false"));
    });
    assert!(!sign_in(&p).await.unwrap().email_verified);
}

#[tokio::test]
async fn client_secret_signed_with_a_wrong_key_is_refused_by_the_fake() {
    let (f, mut d) = setup().await;
    let (other_pem, _) = jwt::generate_p8();
    d["private_key"] = json!(other_pem);
    let p = build(ptype("SignInWithApple"), d);
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Upstream(_))));
    let seen = f.seen();
    assert_eq!(seen.accepted_secrets, 0);
    assert_eq!(seen.refused_secrets, vec!["bad signature"]);
}

#[tokio::test]
async fn client_secret_is_regenerated_before_it_expires() {
    let (f, d) = setup().await;
    // Start the adapter's clock 23.5 h in the past: its first secret expires in 30 min.
    let clock = FixedClock::at((now() - 23 * 3600 - 1800) * 1000);
    let ctx = ctx_with_clock(Arc::new(clock.clone()));
    let p = registry::build(&record(ptype("SignInWithApple"), "Apple", d), &ctx).unwrap();
    // The id_token (issued "in the future" for that clock) is refused, but the fake saw
    // and accepted the secret.
    assert_rejected(
        sign_in(&p).await,
        "id_token iat ahead of the adapter's clock",
    );
    clock.advance_secs(23 * 3600 + 1800);
    sign_in(&p).await.unwrap();
    let seen = f.seen();
    assert_eq!(seen.accepted_secrets, 2);
    assert_ne!(
        seen.secrets[0], seen.secrets[1],
        "a secret close to expiry is replaced"
    );
}

#[tokio::test]
async fn cancel_wrong_nonce_and_forged_tokens() {
    let (f, d) = setup().await;
    let p = build(ptype("SignInWithApple"), d);
    f.set(|o| o.deny = true);
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Denied)));
    f.set(|o| {
        o.deny = false;
        o.token.nonce = Some("other".into());
    });
    assert_rejected(sign_in(&p).await, "wrong nonce");
    f.set(|o| {
        o.token.nonce = None;
        o.token.sign = crate::fakes::SignMode::AlgNone;
    });
    assert_rejected(sign_in(&p).await, "alg none");
    f.set(|o| {
        o.token.sign = crate::fakes::SignMode::Normal;
        o.token.aud = Some(json!("com.other.app"));
    });
    assert_rejected(sign_in(&p).await, "wrong aud");
}

#[tokio::test]
async fn without_name_or_email_scope_the_callback_is_a_redirect() {
    let (_f, mut d) = setup().await;
    d["authorize_scopes"] = json!("openid");
    let p = build(ptype("SignInWithApple"), d);
    let q = authorize_query(&p).await;
    assert!(!q.contains_key("response_mode"));
}
