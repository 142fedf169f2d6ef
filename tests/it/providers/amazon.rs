//! The Login with Amazon adapter against the fake Amazon.

use poolgate::provider::{BeginRequest, BrowserAction, ProviderError};
use serde_json::json;

use super::*;
use crate::fakes::amazon::{self, AmazonOpts, FakeHandle};
use crate::harness::ptype;

fn details(f: &FakeHandle) -> Value {
    f.details()
}

#[tokio::test]
async fn sign_in_reads_the_profile() {
    let f = amazon::start(AmazonOpts::default()).await;
    let p = build(ptype("LoginWithAmazon"), details(&f));
    let q = authorize_query(&p).await;
    assert_eq!(q["scope"], "profile");
    assert_eq!(q["code_challenge_method"], "S256");
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "amzn1.account.AF2EXAMPLEUSERID");
    assert_eq!(id.name.as_deref(), Some("Dorothy Vaughan"));
    assert_eq!(id.email.as_deref(), Some("dorothy@example.com"));
    assert!(
        !id.email_verified,
        "Amazon emails are unverified unless trusted"
    );
    assert_eq!(id.raw["user_id"], "amzn1.account.AF2EXAMPLEUSERID");
    assert!(!id.raw.contains_key("postal_code"));
    assert_eq!(f.seen().profile_calls, 1);
}

#[tokio::test]
async fn trust_email_and_postal_code_scope() {
    let f = amazon::start(AmazonOpts::default()).await;
    let mut d = details(&f);
    d["trust_email"] = json!("true");
    d["authorize_scopes"] = json!("profile postal_code");
    let p = build(ptype("LoginWithAmazon"), d);
    let id = sign_in(&p).await.unwrap();
    assert!(id.email_verified);
    assert_eq!(id.raw["postal_code"], "98109");
}

#[tokio::test]
async fn user_id_only_scope_still_gives_the_subject() {
    let f = amazon::start(AmazonOpts::default()).await;
    let mut d = details(&f);
    d["authorize_scopes"] = json!("profile:user_id");
    let p = build(ptype("LoginWithAmazon"), d);
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "amzn1.account.AF2EXAMPLEUSERID");
    assert_eq!(id.email, None);
}

#[tokio::test]
async fn cancel_is_denied_and_a_wrong_secret_fails() {
    let f = amazon::start(AmazonOpts {
        deny: true,
        ..AmazonOpts::default()
    })
    .await;
    let p = build(ptype("LoginWithAmazon"), details(&f));
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Denied)));
    f.set(|o| o.deny = false);
    let mut d = details(&f);
    d["client_secret"] = json!("wrong");
    let p = build(ptype("LoginWithAmazon"), d);
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Upstream(_))));
}

#[tokio::test]
async fn default_endpoints_are_amazons() {
    let p = build(
        ptype("LoginWithAmazon"),
        json!({"client_id": "c", "client_secret": "s"}),
    );
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
    let BrowserAction::Redirect(u) = begun.action else {
        panic!()
    };
    assert_eq!(
        &u[..url::Position::AfterPath],
        "https://www.amazon.com/ap/oa"
    );
}
