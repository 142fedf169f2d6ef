//! The Google adapter against the fake Google.

use serde_json::json;

use super::*;
use crate::fakes::google::{self, GoogleOpts};
use crate::fakes::oidc::FakeHandle;
use crate::harness::ptype;

fn details(f: &FakeHandle, hosted_domain: Option<&str>) -> Value {
    let mut d = google::details(f);
    if let Some(hd) = hosted_domain {
        d["hosted_domain"] = json!(hd);
    }
    d
}

#[tokio::test]
async fn sign_in_maps_google_claims() {
    let f = google::start(GoogleOpts::default()).await;
    let p = build(ptype("Google"), details(&f, None));
    let q = authorize_query(&p).await;
    assert_eq!(q["scope"], "openid email profile");
    assert!(!q.contains_key("hd"));
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "110169484474386276334");
    assert_eq!(id.email.as_deref(), Some("grace@example.com"));
    assert!(id.email_verified);
    assert_eq!(
        id.picture.as_deref(),
        Some("https://lh3.googleusercontent.com/a/photo")
    );
    assert_eq!(id.raw["locale"], "en");
    assert_eq!(id.issuer.as_deref(), Some(f.issuer().as_str()));
}

#[tokio::test]
async fn both_issuer_spellings_are_accepted() {
    let f = google::start(GoogleOpts {
        legacy_issuer: true,
        ..GoogleOpts::default()
    })
    .await;
    let p = build(ptype("Google"), details(&f, None));
    let id = sign_in(&p).await.expect("legacy issuer accepted");
    // The identity carries the canonical spelling either way.
    assert_eq!(id.issuer.as_deref(), Some(f.issuer().as_str()));
    google::set_legacy_issuer(&f, false);
    sign_in(&p).await.expect("https issuer accepted");
    // Any other spelling is not.
    f.set(|o| o.token.iss = Some("https://accounts.google.com.evil.example".into()));
    assert_rejected(sign_in(&p).await, "foreign issuer");
}

#[tokio::test]
async fn hosted_domain_is_sent_and_enforced() {
    let f = google::start(GoogleOpts {
        hd: Some("example.com".into()),
        ..GoogleOpts::default()
    })
    .await;
    let p = build(ptype("Google"), details(&f, Some("example.com")));
    assert_eq!(authorize_query(&p).await["hd"], "example.com");
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.raw["hd"], "example.com");

    google::set_hd(&f, None);
    assert_rejected(sign_in(&p).await, "consumer account without hd");
    google::set_hd(&f, Some("other.example".into()));
    assert_rejected(sign_in(&p).await, "account of another domain");

    // hd only in userinfo (unsigned) does not count.
    google::set_hd(&f, None);
    f.set(|o| {
        o.userinfo_extra.insert("hd".into(), json!("example.com"));
    });
    assert_rejected(sign_in(&p).await, "hd from userinfo only");
}

#[tokio::test]
async fn google_negative_tokens_are_rejected() {
    let f = google::start(GoogleOpts::default()).await;
    let p = build(ptype("Google"), details(&f, None));
    f.set(|o| o.token.nonce = Some("replayed".into()));
    assert_rejected(sign_in(&p).await, "wrong nonce");
    f.set(|o| {
        o.token.nonce = None;
        o.token.azp = Some("another-client.apps.googleusercontent.com".into());
    });
    assert_rejected(sign_in(&p).await, "azp of another client");
}

#[tokio::test]
async fn any_workspace_domain_with_star() {
    let f = google::start(GoogleOpts {
        hd: Some("corp.example".into()),
        ..GoogleOpts::default()
    })
    .await;
    let p = build(ptype("Google"), details(&f, Some("*")));
    assert_eq!(authorize_query(&p).await["hd"], "*");
    sign_in(&p).await.expect("any Workspace domain");
    google::set_hd(&f, None);
    assert_rejected(sign_in(&p).await, "consumer account with hd=*");
}
