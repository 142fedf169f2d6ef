//! End to end through the social providers (issue 3): the app's view of poolgate with
//! Google, Facebook, Sign in with Apple and Login with Amazon played by their fakes.
//! Everything goes over HTTP; ID tokens are checked against the published JWKS.

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::e2e::{CB, verify_jwt};
use crate::fakes::amazon::{self, AmazonOpts};
use crate::fakes::apple::{self, AppleOpts};
use crate::fakes::facebook::{self, FacebookOpts};
use crate::fakes::google::{self, GoogleOpts};
use crate::fakes::{oidc, parse_form_post};
use crate::harness::{Browser, Gw, Landing, app_client_body, authorize_url, json_str, pkce};

const APP_STATE: &str = "app-state-42";
pub const GRACE: &str = "grace@example.com";

/// A gateway with some providers registered and one public app client allowing them.
pub struct Social {
    pub gw: Gw,
    pub client: String,
}

impl Social {
    pub async fn new(providers: &[(&str, Value)]) -> Self {
        let gw = Gw::start().await;
        for (name, body) in providers {
            gw.put_provider(name, body.clone()).await;
        }
        let names: Vec<&str> = providers.iter().map(|(n, _)| *n).collect();
        let (client, _) = gw.client(app_client_body(CB, &names, false)).await;
        Self { gw, client }
    }

    /// A sign-in as a browser does it: redirects are followed and an auto-posting form
    /// (Apple's `form_post`) is posted with the browser's cookies. Returns where it
    /// landed, the PKCE verifier and the fields of every form posted.
    pub async fn sign_in(
        &self,
        browser: &Browser,
        provider: &str,
        nonce: &str,
    ) -> (Landing, String, Vec<Vec<(String, String)>>) {
        let (verifier, challenge) = pkce();
        let start = authorize_url(
            &self.gw,
            &self.client,
            CB,
            &[
                ("scope", "openid email profile"),
                ("state", APP_STATE),
                ("nonce", nonce),
                ("identity_provider", provider),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        );
        let mut landing = browser.follow(&start, CB).await;
        let mut posted = Vec::new();
        while let Landing::Page(StatusCode::OK, html) = &landing {
            if !html.contains("<form") || posted.len() > 2 {
                break;
            }
            let (action, fields) = parse_form_post(html);
            let resp = browser
                .http
                .post(&action)
                .form(&fields)
                .send()
                .await
                .unwrap();
            posted.push(fields);
            let status = resp.status();
            landing = if status.is_redirection() {
                let loc = resp.headers()["location"].to_str().unwrap();
                let next = Url::parse(&action).unwrap().join(loc).unwrap();
                browser.follow(next.as_str(), CB).await
            } else {
                Landing::Page(status, resp.text().await.unwrap_or_default())
            };
        }
        (landing, verifier, posted)
    }

    /// A whole sign-in and code exchange; the verified ID token's claims.
    pub async fn id_token(&self, provider: &str) -> Value {
        let nonce = format!("nonce-{}", poolgate::secret::random_token(8));
        let (landing, verifier, _) = self.sign_in(&Browser::new(), provider, &nonce).await;
        let t = self.exchange(&landing.code(), &verifier).await;
        let (_, id) = verify_jwt(&json_str(&t, "id_token"), &self.gw.jwks().await);
        assert_eq!(id["iss"], self.gw.base);
        assert_eq!(id["aud"], self.client);
        assert_eq!(id["token_use"], "id");
        assert_eq!(id["nonce"], nonce.as_str());
        id
    }

    pub async fn exchange(&self, code: &str, verifier: &str) -> Value {
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", self.client.as_str()),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ];
        let (s, v) = self.gw.token(&form, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    pub async fn user(&self, username: &str) -> Value {
        let (s, u) = self
            .gw
            .admin("GET", &format!("/pools/default/users/{username}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{u}");
        u
    }

    pub async fn user_count(&self) -> usize {
        let (_, v) = self.gw.admin("GET", "/pools/default/users", None).await;
        v["items"].as_array().unwrap().len()
    }
}

/// A provider body of `kind` with `details`, linking policy `link`.
pub fn body(kind: &str, details: Value, link: &str) -> Value {
    json!({"type": kind, "details": details, "link_by_email": link})
}

/// Asserts the app got `error=access_denied` with its state and no code.
fn assert_denied(landing: &Landing, what: &str) {
    match landing {
        Landing::App(q) => {
            assert_eq!(
                q.get("error").map(String::as_str),
                Some("access_denied"),
                "{what}: {q:?}"
            );
            assert_eq!(
                q.get("state").map(String::as_str),
                Some(APP_STATE),
                "{what}"
            );
            assert!(!q.contains_key("code"), "{what}: {q:?}");
        }
        other => panic!("{what}: expected a redirect to the app, got {other:?}"),
    }
}

pub fn identity_of<'a>(id: &'a Value, provider: &str) -> &'a Value {
    id["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["providerName"] == provider)
        .unwrap_or_else(|| panic!("no {provider} identity in {id}"))
}

#[tokio::test]
async fn google_end_to_end_with_the_default_mapping() {
    let fake = google::start(GoogleOpts::default()).await;
    let s = Social::new(&[("Google", body("Google", google::details(&fake), "never"))]).await;
    let id = s.id_token("Google").await;
    assert_eq!(id["email"], GRACE);
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Grace Hopper");
    assert_eq!(id["given_name"], "Grace");
    assert_eq!(id["family_name"], "Hopper");
    assert_eq!(id["picture"], "https://lh3.googleusercontent.com/a/photo");
    assert_eq!(id["cognito:username"], "Google_110169484474386276334");
    let ident = identity_of(&id, "Google");
    assert_eq!(ident["userId"], "110169484474386276334");
    assert_eq!(ident["providerType"], "Google");
    assert_eq!(ident["issuer"], fake.issuer());

    // Google also writes `iss` without the scheme: the same user signs in again.
    google::set_legacy_issuer(&fake, true);
    let again = s.id_token("Google").await;
    assert_eq!(again["sub"], id["sub"]);
    assert_eq!(s.user_count().await, 1);
}

#[tokio::test]
async fn attribute_mapping_overrides_the_defaults() {
    let fake = google::start(GoogleOpts::default()).await;
    let mut b = body("Google", google::details(&fake), "never");
    b["attribute_mapping"] = json!({"name": "given_name", "locale": "locale"});
    let s = Social::new(&[("Google", b)]).await;
    let id = s.id_token("Google").await;
    assert_eq!(id["name"], "Grace", "name now comes from given_name");
    assert_eq!(id["locale"], "en", "an added mapping");
    assert_eq!(
        id["family_name"], "Hopper",
        "defaults not overridden still apply"
    );
    let u = s.user("Google_110169484474386276334").await;
    assert_eq!(u["attributes"]["name"], "Grace");
    assert_eq!(u["attributes"]["locale"], "en");
}

#[tokio::test]
async fn facebook_end_to_end_with_the_default_mapping() {
    let fake = facebook::start(FacebookOpts::default()).await;
    let s = Social::new(&[("Facebook", body("Facebook", fake.details(), "verified"))]).await;
    let id = s.id_token("Facebook").await;
    assert_eq!(id["email"], "mary@example.com");
    assert_eq!(id["email_verified"], false, "Facebook asserts nothing");
    assert_eq!(id["name"], "Mary Jackson");
    assert_eq!(id["given_name"], "Mary");
    assert_eq!(id["family_name"], "Jackson");
    assert_eq!(id["picture"], "https://platform-lookaside.fbsbx.com/p.jpg");
    assert_eq!(id["cognito:username"], "Facebook_10158000000000001");
    let ident = identity_of(&id, "Facebook");
    assert_eq!(ident["userId"], "10158000000000001");
    assert_eq!(ident["providerType"], "Facebook");
    let seen = fake.seen();
    assert_eq!(seen.versions, ["v26.0"]);
    assert_eq!(
        (seen.graph_calls, seen.bad_proofs),
        (1, 0),
        "appsecret_proof accepted"
    );
}

#[tokio::test]
async fn amazon_end_to_end_with_the_default_mapping() {
    let fake = amazon::start(AmazonOpts::default()).await;
    let s = Social::new(&[(
        "LoginWithAmazon",
        body("LoginWithAmazon", fake.details(), "verified"),
    )])
    .await;
    let id = s.id_token("LoginWithAmazon").await;
    assert_eq!(id["email"], "dorothy@example.com");
    assert_eq!(id["email_verified"], false, "Amazon asserts nothing");
    assert_eq!(id["name"], "Dorothy Vaughan");
    assert_eq!(
        id["cognito:username"],
        "LoginWithAmazon_amzn1.account.AF2EXAMPLEUSERID"
    );
    let ident = identity_of(&id, "LoginWithAmazon");
    assert_eq!(ident["userId"], "amzn1.account.AF2EXAMPLEUSERID");
    assert_eq!(ident["providerType"], "LoginWithAmazon");
    assert_eq!(fake.seen().authorize_queries[0]["scope"], "profile");
}

#[tokio::test]
async fn apple_form_post_and_the_name_is_kept_after_the_first_sign_in() {
    let (opts, pem) = AppleOpts::generate();
    let fake = apple::start(opts).await;
    let s = Social::new(&[(
        "SignInWithApple",
        body("SignInWithApple", fake.details(&pem), "never"),
    )])
    .await;
    let browser = Browser::new();
    let (landing, verifier, posted) = s.sign_in(&browser, "SignInWithApple", "n1").await;
    assert_eq!(posted.len(), 1, "the callback is a form POST");
    assert!(
        posted[0].iter().any(|(k, _)| k == "user"),
        "first: with user"
    );
    let t = s.exchange(&landing.code(), &verifier).await;
    let (_, first) = verify_jwt(&json_str(&t, "id_token"), &s.gw.jwks().await);
    assert_eq!(first["nonce"], "n1");
    assert_eq!(first["name"], "Katherine Johnson");
    assert_eq!(first["given_name"], "Katherine");
    assert_eq!(first["family_name"], "Johnson");
    assert_eq!(first["email"], "kq9x@privaterelay.appleid.com");
    assert_eq!(first["email_verified"], true, "\"true\" is verified");
    let ident = identity_of(&first, "SignInWithApple");
    assert_eq!(ident["userId"], "001234.abcdef0123456789.1234");
    assert_eq!(ident["providerType"], "SignInWithApple");

    let (landing, verifier, posted) = s.sign_in(&browser, "SignInWithApple", "n2").await;
    assert!(
        !posted[0].iter().any(|(k, _)| k == "user"),
        "second: without user"
    );
    let t = s.exchange(&landing.code(), &verifier).await;
    let (_, second) = verify_jwt(&json_str(&t, "id_token"), &s.gw.jwks().await);
    assert_eq!(second["sub"], first["sub"]);
    assert_eq!(second["name"], "Katherine Johnson", "the name is kept");
    assert_eq!(second["given_name"], "Katherine");
    assert_eq!(second["family_name"], "Johnson");
    let u = s.user("SignInWithApple_001234.abcdef0123456789.1234").await;
    assert_eq!(u["attributes"]["name"], "Katherine Johnson");
    assert_eq!(u["attributes"]["given_name"], "Katherine");
    assert_eq!(u["attributes"]["family_name"], "Johnson");
    assert_eq!(u["email_verified"], true);
    let seen = fake.seen();
    assert_eq!(seen.accepted_secrets, 2, "the client-secret JWT verified");
    assert!(
        seen.refused_secrets.is_empty(),
        "{:?}",
        seen.refused_secrets
    );
}

#[tokio::test]
async fn apple_email_verified_as_string_or_boolean_is_verified() {
    for as_strings in [true, false] {
        let (mut opts, pem) = AppleOpts::generate();
        opts.bools_as_strings = as_strings;
        let fake = apple::start(opts).await;
        let s = Social::new(&[(
            "SignInWithApple",
            body("SignInWithApple", fake.details(&pem), "never"),
        )])
        .await;
        let id = s.id_token("SignInWithApple").await;
        assert_eq!(id["email_verified"], true, "strings: {as_strings}");
        assert_eq!(id["email"], "kq9x@privaterelay.appleid.com");
    }
}

#[tokio::test]
async fn apple_client_secret_from_a_wrong_key_issues_nothing() {
    let (opts, _) = AppleOpts::generate();
    let (_, other_pem) = AppleOpts::generate();
    let fake = apple::start(opts).await;
    let s = Social::new(&[(
        "SignInWithApple",
        body("SignInWithApple", fake.details(&other_pem), "never"),
    )])
    .await;
    let (landing, _, _) = s.sign_in(&Browser::new(), "SignInWithApple", "n").await;
    let Landing::App(q) = &landing else {
        panic!("expected a redirect to the app: {landing:?}")
    };
    assert!(q.contains_key("error") && !q.contains_key("code"), "{q:?}");
    assert_eq!(fake.seen().refused_secrets.len(), 1);
    assert_eq!(s.user_count().await, 0);
}

#[tokio::test]
async fn google_hosted_domain_is_enforced() {
    let fake = google::start(GoogleOpts::default()).await;
    let mut d = google::details(&fake);
    d["hosted_domain"] = json!("example.com");
    let s = Social::new(&[("Google", body("Google", d, "never"))]).await;
    for hd in [None, Some("other.example")] {
        google::set_hd(&fake, hd.map(str::to_owned));
        let (landing, _, _) = s.sign_in(&Browser::new(), "Google", "n").await;
        assert_denied(&landing, &format!("hd {hd:?}"));
    }
    assert_eq!(fake.seen().authorize_queries[0]["hd"], "example.com");
    assert_eq!(s.user_count().await, 0, "nothing was created");
    google::set_hd(&fake, Some("example.com".into()));
    let id = s.id_token("Google").await;
    assert_eq!(id["email"], GRACE);
}

#[tokio::test]
async fn cancel_at_each_provider_returns_access_denied_with_the_app_state() {
    let g = google::start(GoogleOpts::default()).await;
    g.set(|o| o.deny = true);
    let f = facebook::start(FacebookOpts {
        deny: true,
        ..Default::default()
    })
    .await;
    let (mut opts, pem) = AppleOpts::generate();
    opts.deny = true;
    let a = apple::start(opts).await;
    let z = amazon::start(AmazonOpts {
        deny: true,
        ..Default::default()
    })
    .await;
    let o = oidc::start(oidc::OidcOpts {
        deny: true,
        ..Default::default()
    })
    .await;
    let s = Social::new(&[
        ("Google", body("Google", google::details(&g), "never")),
        ("Facebook", body("Facebook", f.details(), "never")),
        (
            "SignInWithApple",
            body("SignInWithApple", a.details(&pem), "never"),
        ),
        (
            "LoginWithAmazon",
            body("LoginWithAmazon", z.details(), "never"),
        ),
        ("Corp", body("OIDC", o.details(), "never")),
    ])
    .await;
    for p in [
        "Google",
        "Facebook",
        "SignInWithApple",
        "LoginWithAmazon",
        "Corp",
    ] {
        let (landing, _, _) = s.sign_in(&Browser::new(), p, "n").await;
        assert_denied(&landing, p);
    }
    assert_eq!(s.user_count().await, 0);
}
