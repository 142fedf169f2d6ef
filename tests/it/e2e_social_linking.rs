//! Linking across social providers (issue 3): Facebook and Amazon emails link only when
//! trusted; Google and Apple with the same verified email end as one pool user.

use serde_json::json;

use crate::e2e_social::{GRACE, Social, body, identity_of};
use crate::fakes::amazon::{self, AmazonOpts};
use crate::fakes::apple::{self, AppleOpts};
use crate::fakes::facebook::{self, FacebookOpts};
use crate::fakes::google::{self, GoogleOpts};

/// Signs in at Google (verified `GRACE`), then at `kind` with the same email and
/// `link_by_email = "verified"`; whether both ended as one pool user.
async fn links_to_the_google_user(kind: &str, trust_email: bool) -> bool {
    let g = google::start(GoogleOpts::default()).await;
    let mut details = match kind {
        "Facebook" => {
            let f = facebook::start(FacebookOpts {
                email: Some(GRACE.into()),
                ..Default::default()
            })
            .await;
            f.details()
        }
        _ => {
            let a = amazon::start(AmazonOpts {
                email: GRACE.into(),
                ..Default::default()
            })
            .await;
            a.details()
        }
    };
    if trust_email {
        details["trust_email"] = json!(true);
    }
    let s = Social::new(&[
        ("Google", body("Google", google::details(&g), "verified")),
        (kind, body(kind, details, "verified")),
    ])
    .await;
    let a = s.id_token("Google").await;
    let b = s.id_token(kind).await;
    assert_eq!(b["email"], GRACE);
    assert_eq!(b["email_verified"], trust_email, "{kind}");
    let linked = a["sub"] == b["sub"];
    assert_eq!(s.user_count().await, if linked { 1 } else { 2 });
    if linked {
        assert_eq!(b["identities"].as_array().unwrap().len(), 2);
    }
    linked
}

#[tokio::test]
async fn facebook_and_amazon_emails_link_only_with_trust_email() {
    for kind in ["Facebook", "LoginWithAmazon"] {
        assert!(
            !links_to_the_google_user(kind, false).await,
            "{kind} untrusted"
        );
        assert!(links_to_the_google_user(kind, true).await, "{kind} trusted");
    }
}

#[tokio::test]
async fn google_and_apple_with_the_same_verified_email_are_one_user() {
    let g = google::start(GoogleOpts::default()).await;
    let (mut opts, pem) = AppleOpts::generate();
    opts.email = GRACE.into();
    opts.is_private_email = false;
    let a = apple::start(opts).await;
    let s = Social::new(&[
        ("Google", body("Google", google::details(&g), "verified")),
        (
            "SignInWithApple",
            body("SignInWithApple", a.details(&pem), "verified"),
        ),
    ])
    .await;
    let first = s.id_token("Google").await;
    let second = s.id_token("SignInWithApple").await;
    assert_eq!(first["sub"], second["sub"], "one pool user");
    assert_eq!(second["cognito:username"], "Google_110169484474386276334");
    assert_eq!(identity_of(&second, "Google")["primary"], "true");
    assert_eq!(identity_of(&second, "SignInWithApple")["primary"], "false");
    assert_eq!(second["identities"].as_array().unwrap().len(), 2);
    let u = s.user("Google_110169484474386276334").await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 2);
    assert_eq!(s.user_count().await, 1);
    // Either way in, the same user.
    assert_eq!(s.id_token("Google").await["sub"], first["sub"]);
}
