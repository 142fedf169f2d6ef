//! The token-exchange capability of the id_token kinds (`Provider::native`): an
//! id_token from the provider's own native SDK, verified as strictly as a browser
//! sign-in's, with the native client ids as accepted audiences; and the refusals.

use poolgate::provider::SharedProvider;
use serde_json::json;

use super::*;
use crate::fakes::apple::{self, AppleOpts};
use crate::fakes::google::{self, GoogleOpts};
use crate::fakes::oidc::{self, OidcOpts};
use crate::fakes::{SignMode, TokenKnobs};
use crate::harness::ptype;

pub const ANDROID: &str = "123-android.apps.googleusercontent.com";
pub const IOS: &str = "123-ios.apps.googleusercontent.com";

async fn verify(
    p: &SharedProvider,
    token: &str,
    nonce: Option<&str>,
) -> Result<UpstreamIdentity, ProviderError> {
    p.native()
        .expect("id_token kinds can exchange")
        .verify_id_token(token, nonce)
        .await
}

async fn google_setup() -> (oidc::FakeHandle, SharedProvider) {
    let f = google::start(GoogleOpts::default()).await;
    let mut d = google::details(&f);
    d["native_client_ids"] = json!([ANDROID, IOS]);
    (f.clone(), build(ptype("Google"), d))
}

fn knobs(f: impl FnOnce(&mut TokenKnobs)) -> TokenKnobs {
    let mut k = TokenKnobs::default();
    f(&mut k);
    k
}

#[tokio::test]
async fn google_native_audiences() {
    let (f, p) = google_setup().await;
    let web = f.opts().client_id;
    // aud = the Android client id.
    let id = verify(&p, &f.mint(ANDROID, None, &TokenKnobs::default()), None)
        .await
        .unwrap();
    assert_eq!(id.subject, "110169484474386276334");
    assert!(id.email_verified);
    // One Tap / Credential Manager: aud = web client id, azp = the native id.
    let t = f.mint(&web, None, &knobs(|k| k.azp = Some(IOS.into())));
    assert!(verify(&p, &t, None).await.is_ok());
    // azp of a stranger app.
    let t = f.mint(&web, None, &knobs(|k| k.azp = Some("999-evil.apps".into())));
    assert_rejected_because(verify(&p, &t, None).await, "foreign azp", "azp");
    // Nonce: checked when the app sends one.
    let t = f.mint(ANDROID, Some("n-1"), &TokenKnobs::default());
    assert!(verify(&p, &t, Some("n-1")).await.is_ok());
    assert_rejected_because(verify(&p, &t, Some("n-2")).await, "nonce", "nonce");
    // The same token may be presented again.
    assert!(verify(&p, &t, None).await.is_ok());
}

#[tokio::test]
async fn refused_subject_tokens() {
    let (f, p) = google_setup().await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong audience",
            f.mint("someone-else", None, &TokenKnobs::default()),
            "aud",
        ),
        (
            "expired",
            f.mint(ANDROID, None, &knobs(|k| k.exp_offset = -7200)),
            "expired",
        ),
        (
            "iat too old",
            f.mint(
                ANDROID,
                None,
                &knobs(|k| {
                    k.iat_offset = -3 * 86400;
                    k.exp_offset = 0;
                    k.extra.insert("exp".into(), json!(now() + 600));
                }),
            ),
            "iat",
        ),
        (
            "iat in the future",
            f.mint(ANDROID, None, &knobs(|k| k.iat_offset = 3600)),
            "iat",
        ),
        (
            "wrong issuer",
            f.mint(
                ANDROID,
                None,
                &knobs(|k| k.iss = Some("https://evil.example".into())),
            ),
            "iss",
        ),
        (
            "unpublished key",
            f.mint(ANDROID, None, &knobs(|k| k.sign = SignMode::UnknownKey)),
            "unknown key",
        ),
        (
            "alg none",
            f.mint(ANDROID, None, &knobs(|k| k.sign = SignMode::AlgNone)),
            "alg",
        ),
        (
            "HS256 with the public key",
            f.mint(
                ANDROID,
                None,
                &knobs(|k| k.sign = SignMode::Hs256WithPublicKey),
            ),
            "alg",
        ),
        (
            "no sub",
            f.mint(ANDROID, None, &knobs(|k| k.remove = vec!["sub".into()])),
            "sub",
        ),
    ];
    for (what, token, needle) in cases {
        assert_rejected_because(verify(&p, &token, None).await, what, needle);
    }
    // Tampered: the payload changed after signing.
    let t = f.mint(ANDROID, None, &TokenKnobs::default());
    let parts: Vec<&str> = t.split('.').collect();
    let (_, mut claims) = crate::fakes::jwt::decode_unverified(&t).unwrap();
    claims["sub"] = json!("victim");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        crate::fakes::jwt::b64(claims.to_string()),
        parts[2]
    );
    assert_rejected_because(verify(&p, &forged, None).await, "tampered", "signature");
    assert_rejected(verify(&p, "not-a-jwt", None).await, "garbage");
}

#[tokio::test]
async fn an_alg_the_provider_does_not_publish_is_refused() {
    // Keys are ES256 but discovery lists RS256 only.
    let f = oidc::start(OidcOpts {
        es256: true,
        algs: Some(vec!["RS256".into()]),
        ..OidcOpts::default()
    })
    .await;
    let mut d = f.details();
    d["native_client_ids"] = json!(["native-app"]);
    let p = build(ptype("OIDC"), d);
    let t = f.mint("native-app", None, &TokenKnobs::default());
    assert_rejected_because(verify(&p, &t, None).await, "ES256 token", "alg");
    // With ES256 published the same kind of token passes: the refusal is the alg's.
    f.set(|o| o.algs = Some(vec!["ES256".into()]));
    let p = build(ptype("OIDC"), f.details());
    let t = f.mint(&f.opts().client_id, None, &TokenKnobs::default());
    assert_eq!(verify(&p, &t, None).await.unwrap().subject, "user-1");
}

#[tokio::test]
async fn google_hosted_domain_applies_to_exchanged_tokens() {
    let f = google::start(GoogleOpts::default()).await;
    let mut d = google::details(&f);
    d["native_client_ids"] = json!([ANDROID]);
    d["hosted_domain"] = json!("example.com");
    let p = build(ptype("Google"), d);
    let t = f.mint(ANDROID, None, &TokenKnobs::default());
    assert_rejected_because(verify(&p, &t, None).await, "consumer account", "hd");
    let t = f.mint(
        ANDROID,
        None,
        &knobs(|k| {
            k.extra.insert("hd".into(), json!("example.com"));
        }),
    );
    assert!(verify(&p, &t, None).await.is_ok());
}

#[tokio::test]
async fn apple_native_bundle_id_and_hashed_nonce() {
    let (opts, pem) = AppleOpts::generate();
    let f = apple::start(opts).await;
    let mut d = f.details(&pem);
    d["native_client_ids"] = json!(["com.example.app"]);
    let p = build(ptype("SignInWithApple"), d);
    let raw_nonce = "raw-nonce-from-the-app";
    let hashed = poolgate::secret::sha256_hex(raw_nonce);
    let t = f.mint("com.example.app", Some(&hashed));
    let id = verify(&p, &t, Some(raw_nonce)).await.unwrap();
    assert_eq!(id.subject, "001234.abcdef0123456789.1234");
    assert!(id.email_verified, "Apple's string \"true\" is read");
    assert_rejected_because(
        verify(&p, &t, Some(&hashed)).await,
        "hash sent as the raw nonce",
        "nonce",
    );
    let t = f.mint("com.other.app", None);
    assert_rejected_because(verify(&p, &t, None).await, "other bundle", "aud");
}

#[tokio::test]
async fn facebook_limited_login_with_overridden_keys() {
    let jwks = oidc::start(OidcOpts::default()).await;
    let d = json!({"client_id": "1234567890", "client_secret": "fb-secret",
        "endpoints": {"issuer": jwks.issuer(), "jwks_uri": jwks.url("/jwks")}});
    let p = build(ptype("Facebook"), d);
    let t = jwks.mint(
        "1234567890",
        Some("fb-nonce"),
        &knobs(|k| {
            k.extra.insert("given_name".into(), json!("Ada"));
        }),
    );
    let id = verify(&p, &t, Some("fb-nonce")).await.unwrap();
    assert_eq!(id.subject, "user-1");
    assert_eq!(id.raw["first_name"], "Ada");
    assert!(!id.email_verified, "Facebook never vouches for the email");
    let t = jwks.mint("another-app", None, &TokenKnobs::default());
    assert_rejected_because(verify(&p, &t, None).await, "other app", "aud");
}

#[tokio::test]
async fn kinds_without_id_tokens_cannot_exchange() {
    let p = build(
        ptype("LoginWithAmazon"),
        json!({"client_id": "c", "client_secret": "s"}),
    );
    assert!(p.native().is_none());
    let p = build(
        ptype("GitHub"),
        json!({"client_id": "c", "client_secret": "s"}),
    );
    assert!(p.native().is_none());
}
