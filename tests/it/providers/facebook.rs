//! The Facebook adapter against the fake Facebook (which verifies `appsecret_proof`).

use poolgate::provider::ProviderError;
use serde_json::json;

use super::*;
use crate::fakes::facebook::{self, FacebookOpts, FakeHandle};
use crate::harness::ptype;

fn details(f: &FakeHandle) -> Value {
    f.details()
}

#[tokio::test]
async fn sign_in_reads_graph_me_with_appsecret_proof() {
    let f = facebook::start(FacebookOpts::default()).await;
    let p = build(ptype("Facebook"), details(&f));
    let q = authorize_query(&p).await;
    assert_eq!(q["scope"], "public_profile,email");
    assert_eq!(q["code_challenge_method"], "S256");
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.subject, "10158000000000001");
    assert_eq!(id.issuer, None);
    assert_eq!(id.email.as_deref(), Some("mary@example.com"));
    assert!(
        !id.email_verified,
        "Facebook emails are unverified unless trusted"
    );
    assert_eq!(id.name.as_deref(), Some("Mary Jackson"));
    assert_eq!(id.given_name.as_deref(), Some("Mary"));
    assert_eq!(id.family_name.as_deref(), Some("Jackson"));
    assert_eq!(
        id.picture.as_deref(),
        Some("https://platform-lookaside.fbsbx.com/p.jpg")
    );
    assert_eq!(
        id.raw["picture"],
        "https://platform-lookaside.fbsbx.com/p.jpg"
    );
    assert_eq!(id.raw["first_name"], "Mary");
    let seen = f.seen();
    assert_eq!(seen.graph_calls, 1);
    assert_eq!(seen.bad_proofs, 0);
    assert_eq!(seen.versions, vec!["v26.0"]);
}

#[tokio::test]
async fn trust_email_marks_the_email_verified() {
    let f = facebook::start(FacebookOpts::default()).await;
    let mut d = details(&f);
    d["trust_email"] = json!(true);
    let p = build(ptype("Facebook"), d);
    assert!(sign_in(&p).await.unwrap().email_verified);
    // No email, nothing verified.
    f.set(|o| o.email = None);
    let id = sign_in(&p).await.unwrap();
    assert_eq!(id.email, None);
    assert!(!id.email_verified);
}

#[tokio::test]
async fn the_fake_refuses_a_wrong_appsecret_proof() {
    let f = facebook::start(FacebookOpts::default()).await;
    let b = f.base.as_str().trim_end_matches('/').to_owned();
    let c = http();
    let resp = c
        .get(format!("{b}/v26.0/dialog/oauth"))
        .query(&[
            ("client_id", "1234567890"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
            ("response_type", "code"),
        ])
        .send()
        .await
        .unwrap();
    let loc = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tok: Value = c
        .post(format!("{b}/v26.0/oauth/access_token"))
        .form(&[
            ("client_id", "1234567890"),
            ("client_secret", "fb-app-secret"),
            ("redirect_uri", REDIRECT),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().unwrap();
    let me = |proof: String| {
        c.get(format!("{b}/v26.0/me"))
            .bearer_auth(token)
            .query(&[("fields", "id"), ("appsecret_proof", &proof)])
            .send()
    };
    let bad = me(hex::encode([0u8; 32])).await.unwrap();
    assert_eq!(bad.status(), 400);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"fb-app-secret");
    let good = me(hex::encode(
        aws_lc_rs::hmac::sign(&key, token.as_bytes()).as_ref(),
    ))
    .await
    .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(f.seen().bad_proofs, 1);
}

#[tokio::test]
async fn a_wrong_app_secret_fails_and_cancel_is_denied() {
    let f = facebook::start(FacebookOpts::default()).await;
    let mut d = details(&f);
    d["client_secret"] = json!("not-the-secret");
    let p = build(ptype("Facebook"), d);
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Upstream(_))));

    f.set(|o| o.deny = true);
    let p = build(ptype("Facebook"), details(&f));
    assert!(matches!(sign_in(&p).await, Err(ProviderError::Denied)));
}

#[tokio::test]
async fn api_version_picks_the_public_endpoints() {
    let p = build(
        ptype("Facebook"),
        json!({"client_id": "1", "client_secret": "s", "api_version": "v25.0"}),
    );
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
    assert_eq!(
        &u[..url::Position::AfterPath],
        "https://www.facebook.com/v25.0/dialog/oauth"
    );
    let p = build(
        ptype("Facebook"),
        json!({"client_id": "1", "client_secret": "s"}),
    );
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
    assert_eq!(
        &u[..url::Position::AfterPath],
        "https://www.facebook.com/v26.0/dialog/oauth"
    );
}

/// Collects log output for one closure.
#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs_of_build(version: &str, now_s: i64) -> String {
    let buf = LogBuf::default();
    let writer = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let clock = std::sync::Arc::new(poolgate::clock::FixedClock::at(now_s * 1000));
    let rec = record(
        ptype("Facebook"),
        "Facebook",
        json!({"client_id": "1", "client_secret": "fb-secret-xyz", "api_version": version}),
    );
    tracing::subscriber::with_default(sub, || {
        poolgate::provider::registry::build(&rec, &ctx_with_clock(clock)).unwrap();
    });
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn an_api_version_older_than_two_years_is_warned_about_at_build() {
    // 2026-11-30
    let now = 1_795_996_800;
    let old = logs_of_build("v18.0", now);
    assert!(old.contains("WARN") && old.contains("v18.0"), "{old}");
    assert!(!old.contains("fb-secret-xyz"), "no secret in the log");
    assert!(logs_of_build("v26.0", now).is_empty());
}
