//! `private_key_jwt` (RFC 7523) to an OIDC token endpoint that accepts nothing else: the
//! fake verifies the assertion's signature against the registered public JWK (the one
//! the admin API shows), `iss`/`sub`, `aud` = its token endpoint, `exp` and a single-use
//! `jti`.

use serde_json::json;

use super::*;
use crate::fakes::jwt;
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::ptype;

fn shown_jwk(details: &Value, index: usize) -> Value {
    let jwks = poolgate::provider::oidc::public_jwks(details.as_object().unwrap())
        .expect("public keys shown");
    jwks["keys"][index].clone()
}

#[tokio::test]
async fn sign_in_with_rs256_and_es256_client_keys() {
    let (p8, _) = jwt::generate_p8();
    for (pem, alg) in [(jwt::generate_rsa_pem(), "RS256"), (p8, "ES256")] {
        let f = oidc::start(OidcOpts::default()).await;
        let mut d = f.details();
        d.as_object_mut().unwrap().remove("client_secret");
        d["token_endpoint_auth_method"] = json!("private_key_jwt");
        d["private_key"] = json!(pem);
        let jwk = shown_jwk(&d, 0);
        assert_eq!(jwk["alg"], alg);
        assert!(
            jwk.get("d").is_none() && jwk.get("p").is_none(),
            "public part only"
        );
        f.set(|o| o.client_jwk = Some(jwk));
        let p = build(ptype("OIDC"), d.clone());
        let id = sign_in(&p).await.unwrap();
        assert_eq!(id.subject, "user-1", "{alg}");
        // A second sign-in makes a fresh assertion (new jti).
        sign_in(&p).await.unwrap();
        let seen = f.seen();
        assert_eq!(seen.token_auth, ["private_key_jwt", "private_key_jwt"]);
        assert!(
            seen.assertion_errors.is_empty(),
            "{:?}",
            seen.assertion_errors
        );
    }
}

#[tokio::test]
async fn a_key_the_idp_does_not_know_is_refused() {
    let f = oidc::start(OidcOpts::default()).await;
    let mut d = f.details();
    d["token_endpoint_auth_method"] = json!("private_key_jwt");
    d["private_key"] = json!(jwt::generate_rsa_pem());
    // The IdP holds another key.
    let other = json!({"private_key": jwt::generate_rsa_pem()});
    f.set(|o| o.client_jwk = Some(shown_jwk(&other, 0)));
    let r = sign_in(&build(ptype("OIDC"), d)).await;
    assert!(matches!(r, Err(ProviderError::Upstream(_))), "{r:?}");
    assert_eq!(f.seen().assertion_errors, ["bad signature"]);
}

#[tokio::test]
async fn the_fake_refuses_replayed_and_misaddressed_assertions() {
    // The checks the fake makes are real: a replayed jti and a wrong aud fail.
    let f = oidc::start(OidcOpts::default()).await;
    let pem = jwt::generate_rsa_pem();
    let key =
        poolgate::provider::protocol::assertion::ClientKey::from_pem(&pem, None, None).unwrap();
    f.set(|o| o.client_jwk = Some(key.public_jwk()));
    let post = |assertion: String| {
        let url = f.url("/token");
        async move {
            http()
                .post(url)
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "nope"),
                    ("client_id", "rp-client"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", &assertion),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let a = key.assertion("rp-client", &f.url("/token"), now()).unwrap();
    // Authenticated, then refused for the unknown code.
    assert_eq!(post(a.clone()).await, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(post(a).await, reqwest::StatusCode::UNAUTHORIZED);
    let wrong_aud = key.assertion("rp-client", &f.url("/other"), now()).unwrap();
    assert_eq!(post(wrong_aud).await, reqwest::StatusCode::UNAUTHORIZED);
    let expired = key
        .assertion("rp-client", &f.url("/token"), now() - 600)
        .unwrap();
    assert_eq!(post(expired).await, reqwest::StatusCode::UNAUTHORIZED);
    let errs = f.seen().assertion_errors;
    assert!(errs[0].contains("jti"), "{errs:?}");
    assert!(errs[1].contains("aud"), "{errs:?}");
    assert!(errs[2].contains("expired"), "{errs:?}");
}

#[tokio::test]
async fn rotation_shows_both_keys_and_validation_names_the_key() {
    let d = json!({"client_id": "c", "issuer": "https://idp.example",
        "token_endpoint_auth_method": "private_key_jwt",
        "private_key": jwt::generate_rsa_pem(), "next_private_key": jwt::generate_p8().0});
    assert_ne!(shown_jwk(&d, 0)["kid"], shown_jwk(&d, 1)["kid"]);
    assert_eq!(shown_jwk(&d, 1)["alg"], "ES256");
    let errs = poolgate::provider::registry::validate(&record(
        ptype("OIDC"),
        "Entra",
        json!({"client_id": "c", "issuer": "https://idp.example", "token_endpoint_auth_method": "private_key_jwt"}),
    ))
    .unwrap_err()
    .join("\n");
    assert!(errs.contains("details.private_key"), "{errs}");
    let errs = poolgate::provider::registry::validate(&record(
        ptype("OIDC"),
        "Entra",
        json!({"client_id": "c", "issuer": "https://idp.example", "token_endpoint_auth_method": "private_key_jwt", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}),
    ))
    .unwrap_err()
    .join("\n");
    assert!(errs.contains("details.private_key"), "{errs}");
}
