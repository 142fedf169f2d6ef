//! End to end through the gateway (issue 17): a native app trades its platform
//! id_token for pool tokens (RFC 8693) and lands on the same pool user a browser
//! sign-in gives; the refusals issue nothing; GitHub signs in with its verified primary
//! email.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::e2e::{CB, verify_jwt};
use crate::e2e_social::{GRACE, Social, body, identity_of};
use crate::fakes::apple::{self, AppleOpts};
use crate::fakes::github::{self, GitHubOpts};
use crate::fakes::google::{self, GoogleOpts};
use crate::fakes::jwt;
use crate::fakes::{SignMode, TokenKnobs};
use crate::harness::{app_client_body, json_str};

const ANDROID: &str = "123-android.apps.googleusercontent.com";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

fn native_google(f: &crate::fakes::oidc::FakeHandle) -> Value {
    let mut d = google::details(f);
    d["native_client_ids"] = json!([ANDROID]);
    body("Google", d, "never")
}

async fn exchange(
    s: &Social,
    provider: &str,
    token: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", GRANT),
        ("client_id", s.client.as_str()),
        ("subject_token", token),
        ("subject_token_type", ID_TOKEN),
        ("identity_provider", provider),
    ];
    form.extend_from_slice(extra);
    s.gw.token(&form, None).await
}

#[tokio::test]
async fn google_native_token_lands_on_the_browser_user_and_may_be_exchanged_twice() {
    let f = google::start(GoogleOpts::default()).await;
    let s = Social::new(&[("Google", native_google(&f))]).await;
    let browser = s.id_token("Google").await;
    let token = f.mint(ANDROID, None, &TokenKnobs::default());
    let jwks = s.gw.jwks().await;
    for round in 0..2 {
        let (st, t) = exchange(&s, "Google", &token, &[]).await;
        assert_eq!(st, StatusCode::OK, "round {round}: {t}");
        assert_eq!(
            t["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );
        assert_eq!(t["token_type"], "Bearer");
        assert_eq!(t["scope"], "openid email profile");
        let (_, id) = verify_jwt(&json_str(&t, "id_token"), &jwks);
        assert_eq!(id["sub"], browser["sub"], "the same pool user");
        assert_eq!(id["aud"], s.client);
        assert_eq!(id["email"], GRACE);
        assert_eq!(identity_of(&id, "Google")["providerType"], "Google");
        let (_, access) = verify_jwt(&json_str(&t, "access_token"), &jwks);
        assert_eq!(access["sub"], browser["sub"]);
        // The refresh token works as one from a code exchange.
        let rt = json_str(&t, "refresh_token");
        let (st, r) =
            s.gw.token(
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &s.client),
                    ("refresh_token", &rt),
                ],
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    assert_eq!(s.user_count().await, 1);
    // A narrower scope may be asked for.
    let (st, t) = exchange(&s, "Google", &token, &[("scope", "openid")]).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(t["scope"], "openid");
}

#[tokio::test]
async fn a_first_exchange_creates_the_user_a_later_browser_sign_in_finds() {
    let f = google::start(GoogleOpts::default()).await;
    let s = Social::new(&[("Google", native_google(&f))]).await;
    let (st, t) = exchange(
        &s,
        "Google",
        &f.mint(ANDROID, None, &TokenKnobs::default()),
        &[],
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (_, id) = verify_jwt(&json_str(&t, "id_token"), &s.gw.jwks().await);
    assert_eq!(id["cognito:username"], "Google_110169484474386276334");
    let browser = s.id_token("Google").await;
    assert_eq!(browser["sub"], id["sub"]);
    assert_eq!(s.user_count().await, 1);
}

fn assert_refused(st: StatusCode, v: &Value, code: &str, what: &str) {
    assert_eq!(st, StatusCode::BAD_REQUEST, "{what}: {v}");
    assert_eq!(v["error"], code, "{what}: {v}");
    assert!(v.get("access_token").is_none(), "{what}: nothing issued");
}

#[tokio::test]
async fn refused_exchanges_issue_nothing_and_create_no_user() {
    let f = google::start(GoogleOpts::default()).await;
    let mut other = google::details(&f);
    other["client_id"] = json!("other-web-client");
    let s = Social::new(&[("Google", native_google(&f))]).await;
    s.gw.put_provider("Other", body("Google", other, "never"))
        .await;
    let k = |f: fn(&mut TokenKnobs)| {
        let mut k = TokenKnobs::default();
        f(&mut k);
        k
    };
    let good = f.mint(ANDROID, Some("n"), &TokenKnobs::default());
    let (_, mut claims) = jwt::decode_unverified(&good).unwrap();
    claims["email"] = json!("victim@example.com");
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], jwt::b64(claims.to_string()), parts[2]);
    let grants = [
        (
            "wrong audience",
            f.mint("someone-else", None, &TokenKnobs::default()),
        ),
        (
            "expired",
            f.mint(ANDROID, None, &k(|k| k.exp_offset = -7200)),
        ),
        ("tampered", tampered),
        (
            "unpublished key",
            f.mint(ANDROID, None, &k(|k| k.sign = SignMode::UnknownKey)),
        ),
        (
            "alg none",
            f.mint(ANDROID, None, &k(|k| k.sign = SignMode::AlgNone)),
        ),
        (
            "HS256",
            f.mint(ANDROID, None, &k(|k| k.sign = SignMode::Hs256WithPublicKey)),
        ),
    ];
    for (what, token) in &grants {
        let (st, v) = exchange(&s, "Google", token, &[]).await;
        assert_refused(st, &v, "invalid_grant", what);
    }
    let (st, v) = exchange(&s, "Google", &good, &[("nonce", "not-n")]).await;
    assert_refused(st, &v, "invalid_grant", "nonce mismatch");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let requests: [Case; 5] = [
        (
            "access token type",
            vec![(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            )],
            "invalid_request",
        ),
        ("no provider", vec![], "invalid_request"),
        (
            "provider not the client's",
            vec![("identity_provider", "Other")],
            "invalid_request",
        ),
        (
            "unknown provider",
            vec![("identity_provider", "Nope")],
            "invalid_request",
        ),
        (
            "scope beyond the client's",
            vec![
                ("identity_provider", "Google"),
                ("scope", "openid aws.cognito.signin.user.admin"),
            ],
            "invalid_scope",
        ),
    ];
    for (what, extra, code) in requests {
        let mut form = vec![
            ("grant_type", GRANT),
            ("client_id", s.client.as_str()),
            ("subject_token", good.as_str()),
        ];
        if !extra.iter().any(|(k, _)| *k == "subject_token_type") {
            form.push(("subject_token_type", ID_TOKEN));
        }
        form.extend(extra);
        let (st, v) = s.gw.token(&form, None).await;
        assert_refused(st, &v, code, what);
    }
    // A client that does not allow the code flow.
    let (st, v) =
        s.gw.admin(
            "PUT",
            "/pools/default/resource-servers/api",
            Some(json!({"name": "api", "scopes": [{"name": "read", "description": "r"}]})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let mut cc = app_client_body(CB, &["Google"], true);
    cc["allowed_oauth_flows"] = json!(["client_credentials"]);
    cc["allowed_scopes"] = json!(["api/read"]);
    let (cid, secret) = s.gw.client(cc).await;
    let (st, v) =
        s.gw.token(
            &[
                ("grant_type", GRANT),
                ("subject_token", &good),
                ("subject_token_type", ID_TOKEN),
                ("identity_provider", "Google"),
            ],
            Some((&cid, secret.as_deref().unwrap())),
        )
        .await;
    assert_refused(st, &v, "unauthorized_client", "no code flow");
    // A confidential client with a wrong secret.
    let (st, v) =
        s.gw.token(
            &[
                ("grant_type", GRANT),
                ("subject_token", &good),
                ("subject_token_type", ID_TOKEN),
                ("identity_provider", "Google"),
            ],
            Some((&cid, "wrong")),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(
        s.user_count().await,
        0,
        "no user created by a refused exchange"
    );
}

#[tokio::test]
async fn apple_native_token_with_hashed_nonce_lands_on_the_browser_user() {
    let (opts, pem) = AppleOpts::generate();
    let fake = apple::start(opts).await;
    let mut d = fake.details(&pem);
    d["native_client_ids"] = json!(["com.example.app"]);
    let s = Social::new(&[("SignInWithApple", body("SignInWithApple", d, "never"))]).await;
    let browser = s.id_token("SignInWithApple").await;
    let raw = "app-nonce-123";
    let token = fake.mint("com.example.app", Some(&poolgate::secret::sha256_hex(raw)));
    let (st, t) = exchange(&s, "SignInWithApple", &token, &[("nonce", raw)]).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    let (_, id) = verify_jwt(&json_str(&t, "id_token"), &s.gw.jwks().await);
    assert_eq!(id["sub"], browser["sub"]);
    let (st, v) = exchange(&s, "SignInWithApple", &token, &[("nonce", "other")]).await;
    assert_refused(st, &v, "invalid_grant", "apple nonce");
}

#[tokio::test]
async fn github_sign_in_carries_the_verified_primary_email() {
    let f = github::start(GitHubOpts::default()).await;
    let s = Social::new(&[("GitHub", body("GitHub", f.details(), "verified"))]).await;
    let id = s.id_token("GitHub").await;
    assert_eq!(id["email"], "octocat@example.com");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["cognito:username"], "GitHub_583231");
    assert_eq!(
        id["picture"],
        "https://avatars.githubusercontent.com/u/583231?v=4"
    );
    let ident = identity_of(&id, "GitHub");
    assert_eq!(ident["providerType"], "GitHub");
    assert_eq!(ident["userId"], "583231");
    // GitHub issues no id_token: nothing to exchange.
    let (st, v) = exchange(&s, "GitHub", "a.b.c", &[]).await;
    assert_refused(st, &v, "invalid_request", "github exchange");
}

#[tokio::test]
async fn an_unverified_github_primary_never_links_by_email() {
    let g = google::start(GoogleOpts::default()).await;
    let f = github::start(GitHubOpts::default()).await;
    f.set(|o| o.emails = json!([{"email": GRACE, "primary": true, "verified": false}]));
    let s = Social::new(&[
        ("Google", body("Google", google::details(&g), "verified")),
        ("GitHub", body("GitHub", f.details(), "verified")),
    ])
    .await;
    let grace = s.id_token("Google").await;
    let gh = s.id_token("GitHub").await;
    assert_ne!(
        gh["sub"], grace["sub"],
        "an unverified address links nothing"
    );
    assert_eq!(gh["email_verified"], false);
    assert_eq!(s.user_count().await, 2);
    // Another GitHub account whose primary is verified links to Grace.
    f.set(|o| {
        o.user["id"] = json!(9001);
        o.emails = json!([{"email": GRACE, "primary": true, "verified": true}]);
    });
    let linked = s.id_token("GitHub").await;
    assert_eq!(linked["sub"], grace["sub"]);
    assert_eq!(s.user_count().await, 2);
}

#[tokio::test]
async fn the_provider_view_shows_the_private_key_jwt_public_key_and_masks_the_key() {
    let f = crate::fakes::oidc::start(crate::fakes::oidc::OidcOpts::default()).await;
    let mut d = f.details();
    d["token_endpoint_auth_method"] = json!("private_key_jwt");
    d["private_key"] = json!(jwt::generate_rsa_pem());
    let s = Social::new(&[("Entra", body("OIDC", d.clone(), "never"))]).await;
    let (st, v) =
        s.gw.admin("GET", "/pools/default/providers/Entra", None)
            .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let key = &v["public_jwks"]["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert!(key.get("d").is_none());
    assert_ne!(
        v["details"]["private_key"].as_str().unwrap_or(""),
        d["private_key"].as_str().unwrap()
    );
    assert!(!v.to_string().contains("PRIVATE KEY"), "the key is masked");
    // Register the shown key at the IdP: sign-in works with the assertion only.
    f.set(|o| o.client_jwk = Some(key.clone()));
    let id = s.id_token("Entra").await;
    assert_eq!(identity_of(&id, "Entra")["userId"], "user-1");
    assert_eq!(f.seen().token_auth, ["private_key_jwt"]);
}

#[tokio::test]
async fn a_disabled_user_gets_nothing_from_an_exchange() {
    let f = google::start(GoogleOpts::default()).await;
    let s = Social::new(&[("Google", native_google(&f))]).await;
    let token = f.mint(ANDROID, None, &TokenKnobs::default());
    let (st, _) = exchange(&s, "Google", &token, &[]).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) =
        s.gw.admin(
            "POST",
            "/pools/default/users/Google_110169484474386276334/disable",
            Some(json!({})),
        )
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = exchange(&s, "Google", &token, &[]).await;
    assert_refused(st, &v, "invalid_grant", "disabled user");
    // An oversized or empty subject token is a malformed request.
    let big = "a".repeat(40 * 1024);
    let (st, v) = exchange(&s, "Google", &big, &[]).await;
    assert_refused(st, &v, "invalid_request", "oversized token");
    let (st, v) = exchange(&s, "Google", "", &[]).await;
    assert_refused(st, &v, "invalid_request", "empty token");
}
