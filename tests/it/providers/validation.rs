//! Registry: validation reports every problem with its key (no network), `build`
//! validates too, and each kind's static facts.

use poolgate::model::ProviderTypeName;
use poolgate::provider::{ProviderError, registry};
use serde_json::json;

use super::*;
use crate::fakes::jwt;
use crate::harness::ptype;

fn problems(t: ProviderTypeName, details: Value) -> Vec<String> {
    registry::validate(&record(t, "P", details))
        .err()
        .unwrap_or_default()
}

fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

#[test]
fn oidc_reports_every_missing_key() {
    let p = problems(ptype("OIDC"), json!({}));
    for key in [
        "details.client_id",
        "details.client_secret",
        "details.issuer",
    ] {
        assert!(has(&p, key), "{key} not reported in {p:?}");
    }
    let p = problems(
        ptype("OIDC"),
        json!({
            "client_id": "c", "client_secret": "s",
            "issuer": "http://idp.example.com",
            "token_url": "http://idp.example.com/token",
            "attributes_request_method": "PUT",
            "token_endpoint_auth_method": "tls_client_auth",
            "authorize_scopes": "email",
            "clientid": "typo",
        }),
    );
    assert_eq!(p.len(), 6, "{p:?}");
    assert!(has(&p, "details.issuer: must use https"));
    assert!(has(&p, "details.token_url: must use https"));
    assert!(has(&p, "details.attributes_request_method"));
    assert!(has(&p, "details.token_endpoint_auth_method"));
    assert!(has(&p, "details.authorize_scopes: must include openid"));
    assert!(has(&p, "details.clientid"));
}

#[test]
fn oidc_accepts_cognito_spellings() {
    let p = problems(
        ptype("OIDC"),
        json!({
            "client_id": "c", "client_secret": "s",
            "oidc_issuer": "https://idp.example.com",
            "attributes_url": "https://idp.example.com/userinfo",
            "attributes_url_add_attributes": "false",
        }),
    );
    assert!(p.is_empty(), "{p:?}");
    let p = problems(
        ptype("OIDC"),
        json!({"client_id": "c", "client_secret": "s", "oidc_issuer": "http://idp.example.com"}),
    );
    assert!(has(&p, "details.oidc_issuer: must use https"), "{p:?}");
}

#[test]
fn http_is_allowed_on_loopback_only_and_validate_makes_no_call() {
    // Nothing listens on port 1: validation must not try.
    for issuer in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://idp.localhost:1",
        "http://[::1]:1",
    ] {
        assert!(
            problems(
                ptype("OIDC"),
                json!({"client_id": "c", "client_secret": "s", "issuer": issuer})
            )
            .is_empty(),
            "{issuer}"
        );
    }
    let p = problems(
        ptype("Google"),
        json!({"client_id": "c", "client_secret": "s", "endpoints": {"issuer": "http://10.0.0.1", "jwks": "https://x"}}),
    );
    assert!(has(&p, "details.endpoints.issuer: must use https"), "{p:?}");
    assert!(has(&p, "details.endpoints.jwks"), "{p:?}");
}

#[test]
fn social_kinds_validate_their_keys() {
    let p = problems(
        ptype("Google"),
        json!({"client_id": "c", "hosted_domain": "not a domain"}),
    );
    assert!(
        has(&p, "details.client_secret") && has(&p, "details.hosted_domain"),
        "{p:?}"
    );

    let p = problems(
        ptype("Facebook"),
        json!({"client_id": "c", "client_secret": "s", "api_version": "26", "trust_email": "maybe"}),
    );
    assert!(
        has(&p, "details.api_version") && has(&p, "details.trust_email"),
        "{p:?}"
    );

    let p = problems(
        ptype("LoginWithAmazon"),
        json!({"client_id": "c", "client_secret": "s", "authorize_scopes": "profile openid"}),
    );
    assert!(has(&p, "details.authorize_scopes") && p.len() == 1, "{p:?}");

    let p = problems(
        ptype("SignInWithApple"),
        json!({"client_id": "c", "team_id": "T", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}),
    );
    assert!(
        has(&p, "details.key_id") && has(&p, "details.private_key"),
        "{p:?}"
    );
    let (pem, _) = jwt::generate_p8();
    assert!(
        problems(
            ptype("SignInWithApple"),
            json!({"client_id": "c", "team_id": "T", "key_id": "K", "private_key": pem})
        )
        .is_empty()
    );

    assert!(!problems(ptype("SAML"), json!({})).is_empty());
}

#[test]
fn build_validates_too() {
    let err = registry::build(
        &record(ptype("OIDC"), "P", json!({"client_id": "c"})),
        &ctx(),
    )
    .err()
    .unwrap();
    match err {
        ProviderError::Config(msg) => assert!(
            msg.contains("details.client_secret") && msg.contains("details.issuer"),
            "{msg}"
        ),
        other => panic!("expected Config, got {other:?}"),
    }
    let p = registry::build(
        &record(
            ptype("Google"),
            "Google",
            json!({"client_id": "c", "client_secret": "s"}),
        ),
        &ctx(),
    )
    .unwrap();
    assert_eq!(p.name(), "Google");
    assert_eq!(p.kind().type_name(), "Google");
}

#[test]
fn kinds_expose_secrets_and_default_mappings() {
    let map = |t| {
        registry::kind(&t)
            .default_mapping()
            .iter()
            .copied()
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(map(ptype("Facebook"))["given_name"], "first_name");
    assert_eq!(map(ptype("Facebook"))["family_name"], "last_name");
    assert_eq!(map(ptype("SignInWithApple"))["given_name"], "firstName");
    assert_eq!(map(ptype("SignInWithApple"))["family_name"], "lastName");
    assert_eq!(map(ptype("LoginWithAmazon"))["email"], "email");
    assert_eq!(map(ptype("LoginWithAmazon"))["name"], "name");
    assert_eq!(map(ptype("Google"))["email_verified"], "email_verified");
    assert_eq!(map(ptype("OIDC"))["picture"], "picture");
    assert_eq!(
        registry::kind(&ptype("SignInWithApple")).secret_fields(),
        &["private_key"]
    );
    for t in [
        ptype("Google"),
        ptype("Facebook"),
        ptype("LoginWithAmazon"),
        ptype("OAuth2"),
        ptype("GitHub"),
    ] {
        assert_eq!(registry::kind(&t).secret_fields(), &["client_secret"]);
    }
    // OIDC's private_key_jwt keys are secrets too.
    assert_eq!(
        registry::kind(&ptype("OIDC")).secret_fields(),
        &["client_secret", "private_key", "next_private_key"]
    );
}
